"""The prescriber's or supervisor's desk: their queue, their tasks, their signed answers.

`fieldapp review` builds one over the reviewer's own enrolled store (whose key signs) and
an approval client (whose token reaches only their role's queue). No Textual here: the
console's screen calls these and shows what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from sync.approval_client import ApprovalClient
from sync.approvals import Decision, RequestPublic, ReviewTask, draft_answer

KINDS: tuple[str | None, ...] = (
    None,
    "readiness_hold",
    "dose_cap",
    "verbal_order",
    "supervisor_decision",
)
STATUSES: tuple[Literal["pending", "answered", "all"], ...] = ("pending", "answered", "all")


def clinic_clock(
    server_time: datetime, machine: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Callable[[], datetime]:
    """The clinic's clock, read on this machine (`server_time`: the clinic's, just now).
    The clinic keeps each request's deadline by its own clock, so an answer is dated by
    it: a reviewer's machine set a day off (or a demo server on another day) would
    otherwise have every answer refused as late."""
    skew = server_time - machine()
    return lambda: machine() + skew


class ReviewDesk:
    """Queue, tasks and answers of one enrolled reviewer."""

    def __init__(
        self,
        client: ApprovalClient,
        signer: Any,
        user: str,
        role: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.client, self.signer, self.user, self.role = client, signer, user, role
        self.clock = clock or (lambda: datetime.now(UTC))

    async def queue(self, kind: str | None = None, status: str = "pending") -> list[RequestPublic]:
        """The reviewer's requests, overdue first."""
        return await self.client.queue(kind, status)

    async def tasks(self) -> list[ReviewTask]:
        """The protocol engine's follow-up tasks for the reviewer's role, overdue first."""
        return await self.client.tasks()

    async def answer(self, item: RequestPublic, decision: Decision, note: str) -> RequestPublic:
        """Sign an answer with the reviewer's own key and hand it in."""
        draft = draft_answer(
            item,
            decision,
            note,
            self.user,
            self.clock(),
            self.signer.signing_public_key(),
            role=self.role,  # type: ignore[arg-type]
        )
        return await self.client.answer(self.signer.sign_answer(draft))
