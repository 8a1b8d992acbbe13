"""Timers that escalate (CLINICAL.md §1.6, §1.7): a stop without recovery, a patient who is
still not cleared.

After a STOP the clinician rechecks the vitals after rest; a patient whose vitals are not
back within every limit of §1.6 by `monitoring.after_stop.escalate_after_minutes` is
escalated. A patient not cleared to leave is assessed again every `recovery.rescore_minutes`
and escalated once `recovery.escalate_not_cleared_after_minutes` have passed since the end.
What escalation asks for is `escalate_actions`, from the [actions] catalogue.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from fieldapp.clinical.actions import FollowUp, follow_up
from fieldapp.clinical.monitoring import Reading, evaluate_reading
from fieldapp.clinical.protocol import Protocol

AFTER_STOP = "after_stop_escalation"
NOT_CLEARED = "recovery_escalation"
RESCORE = "recovery_rescore"


def recovered(reading: Reading, protocol: Protocol) -> bool:
    """Whether a reading after a stop is back within every limit (nothing would pause)."""
    decision = evaluate_reading(reading, [], protocol)
    return decision.action == "continue" and not any(
        r.rule_id == "spo2_watch" for r in decision.reasons
    )


def after_stop_due(
    stopped_at: datetime, recovered_at: datetime | None, now: datetime, protocol: Protocol
) -> bool:
    """Whether a stopped infusion with no recovery by now must be escalated."""
    limit = stopped_at + timedelta(
        minutes=float(protocol.monitoring.after_stop.escalate_after_minutes)
    )
    return now >= limit and (recovered_at is None or recovered_at > limit)


def not_cleared_due(minutes_since_end: Decimal, cleared: bool, protocol: Protocol) -> bool:
    """Whether a patient still not cleared this long after the end must be escalated."""
    return not cleared and minutes_since_end >= protocol.recovery.escalate_not_cleared_after_minutes


def escalation(rule_id: str, protocol: Protocol) -> list[FollowUp]:
    """The follow-ups an escalation starts (`AFTER_STOP` or `NOT_CLEARED`)."""
    actions = (
        protocol.monitoring.after_stop.escalate_actions
        if rule_id == AFTER_STOP
        else protocol.recovery.escalate_actions
    )
    return [follow_up(action, rule_id, protocol) for action in actions]


def rescore(protocol: Protocol) -> FollowUp:
    """The re-assessment a not-cleared recovery starts."""
    return follow_up("rescore_recovery", RESCORE, protocol)
