"""The lone-worker escalation ladder (CLINICAL.md §4): which step is due now.

The expected check-out is the planned end, moved by any check-in that extends it. Once
the clinician checks out nothing is due. Minutes past the expected check-out pick the
highest step reached; a duress event is an emergency at once, whatever the clock says.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field

from fieldapp.clinical.protocol import Protocol
from fieldapp.clinical.reasons import Model, Reason


class CheckIn(Model):
    """A contact from the clinician."""

    at: datetime
    kind: Literal["arrival", "infusion_start", "ok", "extend", "check_out", "duress"]
    new_end: datetime | None = None


class LoneWorkerInput(Model):
    """The visit's planned end, the contacts so far, and the time now."""

    planned_end: datetime
    now: datetime
    check_ins: list[CheckIn] = Field(default_factory=list)
    escalate_on_judgment: bool = False


class LadderDecision(Model):
    """The step due now (`none` when nothing is), every step due so far, and why."""

    step: str
    due_steps: list[str]
    actions: list[str]
    minutes_overdue: Decimal
    expected_end: datetime
    next_step_at: datetime | None
    reasons: list[Reason]


def evaluate_ladder(data: LoneWorkerInput, protocol: Protocol) -> LadderDecision:
    """The escalation step due at `now`."""
    lw = protocol.lone_worker
    contacts = sorted((c for c in data.check_ins if c.at <= data.now), key=lambda c: c.at)
    expected = data.planned_end
    for contact in contacts:
        if contact.new_end is not None:
            expected = contact.new_end
    overdue = Decimal(max(0, int((data.now - expected).total_seconds()))) / 60
    base = {"expected_end": expected, "minutes_overdue": overdue}
    if any(c.kind == "duress" for c in contacts):
        return LadderDecision(
            step="emergency",
            due_steps=["emergency"],
            actions=[lw.duress_action],
            next_step_at=None,
            reasons=[
                Reason(
                    rule_id="duress",
                    outcome="emergency",
                    message="Duress signal: emergency now",
                    setting="protocol.lone_worker.duress_action",
                )
            ],
            **base,
        )
    if any(c.kind == "check_out" for c in contacts):
        return LadderDecision(
            step="none", due_steps=[], actions=[], next_step_at=None, reasons=[], **base
        )
    due = [s for s in lw.steps if overdue >= s.after_minutes]
    if data.escalate_on_judgment and overdue > 0 and lw.steps[-1] not in due:
        due.append(lw.steps[-1])
    upcoming = [s for s in lw.steps if s not in due]
    next_at = expected + timedelta(minutes=upcoming[0].after_minutes) if upcoming else None
    reasons = [
        Reason(
            rule_id=f"ladder_{s.id}",
            outcome=s.id,
            message=f"{int(overdue)} min past the "
            f"expected check-out (step at +{s.after_minutes} min): {s.action}",
            measured=f"{int(overdue)} min",
            threshold=f"{s.after_minutes} min",
            setting="protocol.lone_worker.steps",
        )
        for s in due
    ]
    return LadderDecision(
        step=due[-1].id if due else "none",
        due_steps=[s.id for s in due],
        actions=[s.action for s in due],
        next_step_at=next_at,
        reasons=reasons,
        **base,
    )
