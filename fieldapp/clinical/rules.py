"""Turning a readiness rule that fired into a `Reason` with its configured outcome."""

from __future__ import annotations

from collections.abc import Sequence

from fieldapp.clinical.protocol import Protocol
from fieldapp.clinical.reasons import Reason


def fire(
    protocol: Protocol,
    rule_id: str,
    message: str,
    measured: str | None = None,
    threshold: str | None = None,
    setting: str | None = None,
    actions: Sequence[str] = (),
) -> Reason:
    """A reason for `rule_id`, with the outcome and approvability protocol.toml gives it."""
    rule = protocol.rule(rule_id)
    return Reason(
        rule_id=rule_id,
        outcome=rule.outcome,
        message=message,
        measured=measured,
        threshold=threshold,
        setting=setting or f"protocol.readiness.rules.{rule_id}",
        approvable=rule.approvable,
        actions=tuple(actions),
        action_ids=tuple(rule.actions),
    )
