"""Follow-up actions: what a decision asks someone to do, who, and by when.

`protocol.toml [actions]` is the catalogue: each action has an owner (the clinician on
this laptop, or the prescriber or supervisor off it), its text, and the minutes within
which it is due (a number, or the dotted name of the setting that holds it, so a recheck
is due exactly when the monitoring rule says). Rules name the actions they start; a
decision's reasons carry those ids, and `follow_ups` turns them into `FollowUp`s the app
records as tasks with timers.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from fieldapp.clinical.reasons import Model, Reason

if TYPE_CHECKING:
    from fieldapp.clinical.protocol import Protocol

Owner = Literal["clinician", "prescriber", "supervisor"]
OFF_DEVICE: frozenset[str] = frozenset({"prescriber", "supervisor"})


class ActionSpec(Model):
    """One action of the catalogue."""

    owner: Owner
    text: str = Field(min_length=1)
    # Minutes from the decision, or a setting's dotted name ("monitoring.recheck_minutes");
    # None: an instruction to acknowledge, with no timer.
    due_minutes: Decimal | str | None = None


class FollowUp(Model):
    """An action a decision started: id, owner, text, and when it is due."""

    action: str
    owner: Owner
    text: str
    due_minutes: Decimal | None
    rule_id: str
    setting: str

    @property
    def off_device(self) -> bool:
        """Whether someone off this laptop must act (the task goes to the clinic)."""
        return self.owner in OFF_DEVICE


def setting_value(protocol: Any, dotted: str) -> Any:
    """The value of a protocol setting by its dotted name (`monitoring.recheck_minutes`)."""
    node = protocol
    for part in dotted.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def due_minutes(spec: ActionSpec, protocol: Protocol) -> Decimal | None:
    """An action's due time in minutes, read through the setting it names if it names one."""
    if isinstance(spec.due_minutes, str):
        return Decimal(str(setting_value(protocol, spec.due_minutes)))
    return spec.due_minutes


def follow_up(action: str, rule_id: str, protocol: Protocol) -> FollowUp:
    """One action of the catalogue, started by `rule_id`."""
    spec = protocol.actions[action]
    return FollowUp(
        action=action,
        owner=spec.owner,
        text=spec.text,
        due_minutes=due_minutes(spec, protocol),
        rule_id=rule_id,
        setting=f"protocol.actions.{action}",
    )


def follow_ups(reasons: Iterable[Reason], protocol: Protocol) -> list[FollowUp]:
    """Every action the reasons ask for, once each, in the order first asked."""
    seen: dict[str, FollowUp] = {}
    for reason in reasons:
        for action in reason.action_ids:
            if action not in seen:
                seen[action] = follow_up(action, reason.rule_id, protocol)
    return list(seen.values())


def unknown_actions(named: Iterable[str], protocol_actions: dict[str, ActionSpec]) -> list[str]:
    """The action ids in `named` the catalogue does not hold."""
    return sorted({action for action in named if action not in protocol_actions})
