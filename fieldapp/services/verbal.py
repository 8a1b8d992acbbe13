"""Telephone orders: when there is no data to reach the prescriber, they give the order by
voice, the clinician reads it back, the prescriber confirms, and the laptop records who
gave it, the exact order and that it was read back.

Only holds the protocol lets a telephone order release (`verbal_order = true` on the rule
in protocol.toml) may be released this way; any other hold among them refuses the order.
The order then waits on the laptop (`CosignQueue`, encrypted with the drafts) until the
next sync sends it to the prescriber's co-sign queue at the clinic; unsigned past
`approvals.cosign_deadline_hours` the clinic escalates it to the supervisor and the board.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from fieldapp.clinical.protocol import Protocol
from fieldapp.clinical.reasons import Reason
from fieldapp.errors import FieldAppError
from fieldapp.services.approvals import ApprovalLink, PendingRequest, hold_facts, new_request
from fieldapp.services.visit import StepRefused
from sync.approvals import ApprovalRequestIn, Facts
from sync.errors import ServerRejected, SyncError

QUEUE_KEY = "cosign-queue"
_USER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_ORDER = 500


@dataclass(frozen=True)
class VerbalOrder:
    """A telephone order taken for a visit's holds, and its co-sign request."""

    given_by: str
    order: str
    given_at: datetime
    request: PendingRequest


def verbal_order(
    reasons: Sequence[Reason],
    protocol: Protocol,
    given_by: str,
    order: str,
    read_back: bool,
    now: datetime,
    visit_id: UUID | None = None,
) -> VerbalOrder:
    """The telephone order, or `StepRefused` saying what is missing or not allowed."""
    given_by, order = given_by.strip(), " ".join(order.split())
    if not _USER.match(given_by):
        raise StepRefused("Name the prescriber who gave the order by their clinic user name.")
    if not order:
        raise StepRefused("Write the order exactly as the prescriber gave it.")
    if len(order) > MAX_ORDER:
        raise StepRefused(f"Keep the order under {MAX_ORDER} characters.")
    if not read_back:
        raise StepRefused("Read the order back to the prescriber and confirm it first.")
    facts = hold_facts(reasons)
    if facts is None:
        raise StepRefused("Nothing on hold here is for a prescriber to release.")
    not_allowed = [r.rule_id for r in facts.rules if not _allows(protocol, r.rule_id)]
    if not_allowed:
        raise StepRefused(
            "A telephone order cannot release "
            + ", ".join(not_allowed)
            + ": the protocol needs the prescriber's signed answer for it."
        )
    cosign = Facts(
        rules=facts.rules,
        values={"given_by": given_by, "read_back": True},
        question=order,
    )
    return VerbalOrder(given_by, order, now, new_request("verbal_order", cosign, visit_id, now))


def _allows(protocol: Protocol, rule_id: str) -> bool:
    rule = protocol.readiness.rules.get(rule_id)
    return rule is not None and rule.verbal_order


# What the clinician is told when the clinic refuses a co-sign request for good.
REFUSED_NOTE = "The clinic refused a telephone order's co-sign request: call the prescriber."


@dataclass(frozen=True)
class Flushed:
    """What one flush of the co-sign queue did."""

    sent: int
    refused: int  # set aside this time: the clinician is told


class CosignQueue:
    """Telephone orders waiting for a sync to reach the prescriber's co-sign queue."""

    def __init__(self, drafts: Any) -> None:
        self.drafts = drafts

    def pending(self) -> list[ApprovalRequestIn]:
        """The co-sign requests not yet sent."""
        held = self.drafts.get(QUEUE_KEY) or {}
        return [ApprovalRequestIn.model_validate(r) for r in held.get("requests", [])]

    def add(self, request: PendingRequest) -> None:
        """Queue one (kept encrypted with the drafts until sent)."""
        found = [r.model_dump(mode="json") for r in self.pending()]
        found.append(request.request.model_dump(mode="json"))
        self.drafts.put(QUEUE_KEY, {"requests": found, "refused": self.refused()})

    def refused(self) -> list[dict[str, Any]]:
        """The requests the clinic refused for good (request and its reason), set aside so
        they do not hold back the ones queued behind them."""
        held = self.drafts.get(QUEUE_KEY) or {}
        return list(held.get("refused", []))

    async def flush(self, link: ApprovalLink) -> Flushed:
        """Send every queued request (at each sync); the ones sent leave the queue. One the
        clinic refuses for good is set aside (`refused`), since retrying will not change its
        answer and the clinic raises the request again from the order's record when that is
        pushed; a failure that may pass (no connection, the server busy) leaves the rest for
        the next sync."""
        sent = 0
        remaining, refused = self.pending(), self.refused()
        refused_before = len(refused)
        while remaining:
            try:
                await link.send(PendingRequest(remaining[0]))
            except ServerRejected as exc:
                request = remaining[0].model_dump(mode="json")
                refused.append({"request": request, "reason": str(exc)})
            except (SyncError, FieldAppError):
                break
            else:
                sent += 1
            remaining.pop(0)
            left = [r.model_dump(mode="json") for r in remaining]
            self.drafts.put(QUEUE_KEY, {"requests": left, "refused": refused})
        return Flushed(sent, len(refused) - refused_before)
