"""A fake dispatch backend and hand-made boards for the board's pilot tests (synthetic only)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sync.server.plan_models import (
    Board,
    BoardClinician,
    BoardVisit,
    LiveEvent,
    PlanDocument,
    PlanPublic,
    PlanSummary,
    PublishResult,
)

DAY = date(2030, 3, 4)


def at(hour: int, minute: int = 0) -> datetime:
    """A UTC time on DAY."""
    return datetime(2030, 3, 4, hour, minute, tzinfo=UTC)


def bvisit(
    ref: str,
    clinician: str | None,
    order: int | None,
    start_hour: int,
    events: list[tuple[str, datetime]] = (),  # type: ignore[assignment]
    n: int = 0,
) -> BoardVisit:
    """A board visit with synthetic contact data and the given check-ins."""
    live = [LiveEvent(status=s, at=t) for s, t in events]
    return BoardVisit(
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"visit/{ref}"),
        ref=ref,
        patient_id=uuid.uuid5(uuid.NAMESPACE_URL, f"patient/{ref}"),
        patient_name=f"Testpatient {ref}",
        phone="555-0100",
        address=f"{n} Test Way, Testville, WA 98000",
        lat=47.60 + 0.01 * n,
        lon=-122.33 + 0.01 * (n % 3),
        window_start=at(start_hour),
        window_end=at(start_hour + 2),
        duration_min=90,
        safety_flags=["dog on site"] if n == 1 else [],
        skills=["RN"],
        flags=[],
        previous_clinician=None,
        clinician_id=clinician,
        route_order=order,
        eta=at(start_hour) if clinician else None,
        status="scheduled" if clinician else "open",
        review_flags=[],
        live=live[-1].status if live else None,
        live_at=live[-1].at if live else None,
        events=live,
    )


def board(*clinicians: tuple[str, list[BoardVisit]], unassigned: list[BoardVisit] = ()) -> Board:  # type: ignore[assignment]
    """A board of the given routes."""
    cs = []
    for name, visits in clinicians:
        contacts = sorted((e for v in visits for e in v.events), key=lambda e: e.at)
        duress = [e.at for e in contacts if e.status == "duress"]
        cs.append(
            BoardClinician(
                clinician_id=name,
                display_name=f"Clinician {name}",
                visits=visits,
                last_event=contacts[-1].status if contacts else None,
                last_event_at=contacts[-1].at if contacts else None,
                duress_at=duress[-1] if duress else None,
            )
        )
    return Board(
        scheduled_on=DAY,
        timezone="UTC",
        server_time=at(12),
        published_plan_id=None,
        clinicians=cs,
        unassigned=list(unassigned),
    )


class FakeBackend:
    """Answers from a settable board; records every write."""

    def __init__(self, day_board: Board) -> None:
        self.day_board = day_board
        self.stored: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        self.published: list[str] = []
        self.cancelled: list[str] = []
        self.drafts: list[PlanSummary] = []

    async def board(self, day: date) -> Board:
        return self.day_board

    async def plans(self, day: date) -> list[PlanSummary]:
        return list(reversed(self.drafts))

    async def plan(self, plan_id: UUID | str) -> PlanPublic:
        summary = next(p for p in self.drafts if str(p.id) == str(plan_id))
        return PlanPublic(
            **summary.model_dump(),
            plan=PlanDocument(routes=[]),
            roster=[],
        )

    async def store_plan(
        self, day: date, plan: dict[str, Any], roster: list[dict[str, Any]] | None = None
    ) -> PlanSummary:
        self.stored.append((plan, roster or []))
        summary = PlanSummary(
            id=uuid.uuid4(),
            scheduled_on=day,
            status="draft",
            created_by="disp",
            created_at=at(10) + timedelta(minutes=len(self.drafts)),
            published_at=None,
            totals=plan.get("totals", {}),
        )
        self.drafts.append(summary)
        return summary

    async def publish(self, plan_id: UUID | str) -> PublishResult:
        self.published.append(str(plan_id))
        return PublishResult(plan_id=UUID(str(plan_id)), changed=["x"])

    async def cancel(self, visit_id: UUID | str) -> Board:
        self.cancelled.append(str(visit_id))
        return self.day_board
