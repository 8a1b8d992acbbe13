"""A desk with a fixed queue, for the console's pilot and snapshot tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.approvals import Facts, RequestPublic, ReviewTask, RuleFact

NOW = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)


def request(
    n: int, kind: str = "readiness_hold", overdue: bool = False, **facts: Any
) -> RequestPublic:
    """A pending request as the clinic shows it (fixed ids and times)."""
    built = Facts(
        rules=facts.pop(
            "rules",
            [
                RuleFact(
                    rule_id="bp_hold",
                    measured="150/92",
                    threshold="140/90",
                    setting="protocol.vitals.pre_infusion.hold",
                )
            ],
        ),
        **facts,
    )
    due = NOW - timedelta(minutes=5) if overdue else NOW + timedelta(minutes=25 + n)
    return RequestPublic(
        id=uuid.UUID(int=n),
        kind=kind,  # type: ignore[arg-type]
        role="prescriber",
        visit_id=uuid.UUID(int=1000 + n),
        facts=built,
        facts_hash=built.digest(),
        requested_by=f"c0{n}",
        requested_at=NOW - timedelta(minutes=5),
        expires_at=due,
        status="pending",
        overdue=overdue,
    )


class FakeDesk:
    """Queue and tasks in memory; answers recorded, not signed."""

    user, role = "drp", "prescriber"

    def __init__(self) -> None:
        self.items = [
            request(1, overdue=True),
            request(
                2,
                kind="verbal_order",
                question="Proceed as ordered; recheck BP at 10 minutes.",
                values={"given_by": "drp", "read_back": True},
            ),
            request(3),
        ]
        self.task_list = [
            ReviewTask(
                id=uuid.UUID(int=77),
                action="notify_prescriber",
                owner="prescriber",
                visit_id=uuid.UUID(int=1001),
                due_at=NOW + timedelta(hours=1),
                state="open",
            )
        ]
        self.answers: list[tuple[uuid.UUID, str, str]] = []

    async def queue(self, kind: str | None = None, status: str = "pending") -> list[RequestPublic]:
        found = [i for i in self.items if kind is None or i.kind == kind]
        answered = {a[0] for a in self.answers}
        if status == "pending":
            found = [i for i in found if i.id not in answered]
        elif status == "answered":
            found = [i for i in found if i.id in answered]
        return found

    async def tasks(self) -> list[ReviewTask]:
        return list(self.task_list)

    async def answer(self, item: RequestPublic, decision: str, note: str) -> RequestPublic:
        self.answers.append((item.id, decision, note))
        return item
