"""During the infusion (CLINICAL.md §1.6): continue, pause, stop or emergency for a reading.

A reading is judged in the context of the session so far: the earlier readings are
replayed to know whether the infusion is paused (and until when) or already stopped.
A pause whose trigger persists at the recheck becomes a stop; a stopped infusion is never
restarted in the same session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Literal

from pydantic import Field

from fieldapp.clinical.protocol import Monitoring, Protocol
from fieldapp.clinical.reasons import MONITORING_LADDER, Model, Reason, worst

Action = Literal["continue", "pause", "stop", "emergency"]
WATCH = "Watch SpO2 closely."
MinuteLabel = Callable[[Decimal], str]
"""How a minute after the start reads in a message: the service gives the clock time
("14:05"); without one it is the whole minute after the start ("minute 5")."""


def after_start(minute: Decimal) -> str:
    """A minute after the start, whole (the clinician never reads "minute 5.367")."""
    return f"minute {int(minute)}"


class Reading(Model):
    """One set of observations during the infusion."""

    minute: Decimal = Field(ge=0)
    systolic: int | None = Field(None, gt=0, lt=400)
    diastolic: int | None = Field(None, gt=0, lt=300)
    heart_rate: int | None = Field(None, ge=0, lt=300)
    spo2: int | None = Field(None, ge=0, le=100)
    spo2_below_seconds: int = Field(0, ge=0)
    rr: int | None = Field(None, ge=0, lt=100)
    apnoea: bool = False
    rass: int | None = Field(None, ge=-5, le=4)
    symptoms: list[str] = Field(default_factory=list)
    cadss: int | None = Field(None, ge=0, le=92)


class MonitoringDecision(Model):
    """What to do now, why, and the standing-order actions to show."""

    action: Action
    reasons: list[Reason]
    actions: list[str]
    recheck_at_minute: Decimal | None = None
    recheck_minutes: Decimal | None = None
    restart_allowed: bool = True


class _State(Model):
    paused_families: tuple[str, ...] = ()
    recheck_at: Decimal | None = None
    stopped_at: Decimal | None = None


def _reason(
    rule: str,
    action: str,
    message: str,
    measured: str,
    limit: str,
    key: str,
    order: str | None,
    m: Monitoring,
) -> Reason:
    """A reason whose actions are the standing order `order` (None: watch closely)."""
    reason = Reason(
        rule_id=rule,
        outcome=action,
        message=message,
        measured=measured,
        threshold=limit,
        setting=f"protocol.monitoring.{key}",
        actions=(WATCH,),
    )
    return _with_orders(reason, m, order) if order else reason


def _with_orders(reason: Reason, m: Monitoring, *orders: str) -> Reason:
    """`reason` with the text and the follow-up actions of the standing orders named."""
    texts = tuple(getattr(m.standing_orders, order) for order in orders)
    ids = tuple(a for order in orders for a in m.order_actions.get(order, []))
    return reason.model_copy(update={"actions": texts, "action_ids": ids})


def _triggers(r: Reading, m: Monitoring) -> list[tuple[Reason, str]]:
    """Every limit this reading meets, with the trigger family it belongs to."""
    found: list[tuple[Reason, str]] = []
    bp = f"{r.systolic}/{r.diastolic}"
    has_bp = r.systolic is not None and r.diastolic is not None
    if has_bp and m.emergency.met_by(r.systolic or 0, r.diastolic or 0):
        found.append(
            (
                _reason(
                    "bp_emergency",
                    "emergency",
                    f"BP {bp} is at or above the emergency limit {m.emergency}",
                    bp,
                    str(m.emergency),
                    "emergency",
                    "emergency",
                    m,
                ),
                "bp",
            )
        )
    elif has_bp and (
        (r.systolic or 0) >= m.pause.systolic or (r.diastolic or 0) >= m.pause.diastolic
    ):
        limit = f"{m.pause.systolic}/{m.pause.diastolic}"
        found.append(
            (
                _reason(
                    "bp_pause",
                    "pause",
                    f"BP {bp} is at or above the pause limit {limit}",
                    bp,
                    limit,
                    "pause",
                    "pause_haemodynamic",
                    m,
                ),
                "bp",
            )
        )
    if r.heart_rate is not None and r.heart_rate >= m.pause.heart_rate:
        found.append(
            (
                _reason(
                    "hr_pause",
                    "pause",
                    f"HR {r.heart_rate} is at or above the pause limit {m.pause.heart_rate}",
                    str(r.heart_rate),
                    str(m.pause.heart_rate),
                    "pause.heart_rate",
                    "pause_haemodynamic",
                    m,
                ),
                "hr",
            )
        )
    symptoms = [s for s in r.symptoms if s in m.emergency_symptoms]
    if symptoms:
        found.append(
            (
                _reason(
                    "symptom_emergency",
                    "emergency",
                    f"Emergency symptom: {', '.join(symptoms)}",
                    ", ".join(symptoms),
                    "any",
                    "emergency_symptoms",
                    "emergency",
                    m,
                ),
                "symptom",
            )
        )
    if r.spo2 is not None and r.spo2 < m.spo2_emergency_below:
        found.append(
            (
                _reason(
                    "spo2_emergency",
                    "emergency",
                    f"SpO2 {r.spo2}% is below {m.spo2_emergency_below}%",
                    f"{r.spo2}%",
                    f"{m.spo2_emergency_below}%",
                    "spo2_emergency_below",
                    "emergency",
                    m,
                ),
                "spo2",
            )
        )
    elif r.spo2 is not None and r.spo2 < m.spo2_stop_below:
        sustained = r.spo2_below_seconds >= m.spo2_stop_sustained_seconds
        found.append(
            (
                _reason(
                    "spo2_stop" if sustained else "spo2_watch",
                    "stop" if sustained else "continue",
                    f"SpO2 {r.spo2}% below {m.spo2_stop_below}% for {r.spo2_below_seconds} s"
                    + ("" if sustained else f"; stop at {m.spo2_stop_sustained_seconds} s"),
                    f"{r.spo2}% for {r.spo2_below_seconds} s",
                    f"{m.spo2_stop_below}% for {m.spo2_stop_sustained_seconds} s",
                    "spo2_stop_sustained_seconds",
                    "spo2_stop" if sustained else None,
                    m,
                ),
                "spo2",
            )
        )
    if r.apnoea or (r.rr is not None and r.rr < m.rr_emergency_below):
        measured = "apnoea" if r.apnoea else f"RR {r.rr}"
        found.append(
            (
                _reason(
                    "respiratory_emergency",
                    "emergency",
                    f"{measured}: below RR {m.rr_emergency_below}",
                    measured,
                    str(m.rr_emergency_below),
                    "rr_emergency_below",
                    "emergency",
                    m,
                ),
                "rr",
            )
        )
    if r.rass is not None:
        found += _rass(r.rass, m)
    return found


def _rass(score: int, m: Monitoring) -> list[tuple[Reason, str]]:
    for hit, rule, action, limit, key, order in (
        (
            score <= m.rass_sedation_stop_at_or_below,
            "rass_sedation_stop",
            "stop",
            m.rass_sedation_stop_at_or_below,
            "rass_sedation_stop_at_or_below",
            "sedation_stop",
        ),
        (
            score <= m.rass_sedation_pause_at_or_below,
            "rass_sedation_pause",
            "pause",
            m.rass_sedation_pause_at_or_below,
            "rass_sedation_pause_at_or_below",
            "sedation_pause",
        ),
        (
            score >= m.rass_agitation_stop_at_or_above,
            "rass_agitation_stop",
            "stop",
            m.rass_agitation_stop_at_or_above,
            "rass_agitation_stop_at_or_above",
            "agitation_stop",
        ),
        (
            score >= m.rass_agitation_pause_at_or_above,
            "rass_agitation_pause",
            "pause",
            m.rass_agitation_pause_at_or_above,
            "rass_agitation_pause_at_or_above",
            "agitation_pause",
        ),
    ):
        if hit:
            words = "at or below" if "sedation" in rule else "at or above"
            return [
                (
                    _reason(
                        rule,
                        action,
                        f"RASS {score:+d} is {words} {limit:+d}",
                        f"{score:+d}",
                        f"{limit:+d}",
                        key,
                        order,
                        m,
                    ),
                    "rass",
                )
            ]
    return []


def _decide(
    r: Reading, state: _State, m: Monitoring, at: MinuteLabel = after_start
) -> tuple[MonitoringDecision, _State]:
    found = _triggers(r, m)
    reasons = [reason for reason, _ in found]
    action: str = worst((reason.outcome for reason in reasons), MONITORING_LADDER)
    so = m.standing_orders
    if action == "emergency":
        return _done("emergency", reasons, r.minute, state), state.model_copy(
            update={"stopped_at": state.stopped_at or r.minute}
        )
    if state.stopped_at is not None:
        reasons.append(
            Reason(
                rule_id="no_restart",
                outcome="stop",
                message=f"Stopped at {at(state.stopped_at)}: no restart in this session",
                actions=(so.no_restart,),
            )
        )
        return _done("stop", reasons, r.minute, state), state
    if action == "stop":
        return _done("stop", reasons, r.minute, state), state.model_copy(
            update={"stopped_at": r.minute}
        )
    pausing = {family for reason, family in found if reason.outcome == "pause"}
    due = state.recheck_at is not None and r.minute >= state.recheck_at
    if state.recheck_at is not None and due:
        persisting = pausing.intersection(state.paused_families)
        if persisting:
            stop = [
                _with_orders(
                    reason.model_copy(
                        update={
                            "outcome": "stop",
                            "rule_id": f"{reason.rule_id}_persisting",
                            "message": f"{reason.message}, still at the recheck: stop",
                        }
                    ),
                    m,
                    "stop_haemodynamic"
                    if reason.rule_id in ("bp_pause", "hr_pause")
                    else "sedation_stop"
                    if "sedation" in reason.rule_id
                    else "agitation_stop",
                    "no_restart",
                )
                for reason, family in found
                if family in persisting and reason.outcome == "pause"
            ]
            others = [reason for reason, family in found if family not in persisting]
            return _done("stop", stop + others, r.minute, state), state.model_copy(
                update={"stopped_at": r.minute, "paused_families": (), "recheck_at": None}
            )
    if pausing:
        if state.recheck_at is not None and not due and pausing <= set(state.paused_families):
            recheck_at = state.recheck_at
        else:
            recheck_at = r.minute + m.recheck_minutes
        families = tuple(sorted(pausing | (set(state.paused_families) if not due else set())))
        decision = MonitoringDecision(
            action="pause",
            reasons=reasons,
            actions=_actions(reasons),
            recheck_at_minute=recheck_at,
            recheck_minutes=recheck_at - r.minute,
        )
        return decision, _State(paused_families=families, recheck_at=recheck_at)
    if state.recheck_at is not None and not due:
        # Values settled before the recheck: hold the pause until the recheck time.
        reasons.append(
            Reason(
                rule_id="pause_held",
                outcome="pause",
                message=f"Paused until the recheck at {at(state.recheck_at)}",
                setting="protocol.monitoring.recheck_minutes",
            )
        )
        return MonitoringDecision(
            action="pause",
            reasons=reasons,
            actions=_actions(reasons),
            recheck_at_minute=state.recheck_at,
            recheck_minutes=state.recheck_at - r.minute,
        ), state
    if state.recheck_at is not None:
        reasons.append(
            Reason(
                rule_id="pause_resolved",
                outcome="continue",
                message="Values back within limits at the recheck: resume",
            )
        )
    return MonitoringDecision(action="continue", reasons=reasons, actions=_actions(reasons)), (
        _State()
    )


def _actions(reasons: Sequence[Reason]) -> list[str]:
    seen: list[str] = []
    for reason in reasons:
        for action in reason.actions:
            if action not in seen:
                seen.append(action)
    return seen


def _done(
    action: Action, reasons: list[Reason], minute: Decimal, state: _State
) -> MonitoringDecision:
    return MonitoringDecision(
        action=action, reasons=reasons, actions=_actions(reasons), restart_allowed=False
    )


def with_low_spo2_durations(readings: Sequence[Reading], protocol: Protocol) -> list[Reading]:
    """The readings (in time order), each low SpO2 with how long it has been low.

    A run of consecutive readings below the stop limit is one desaturation: its duration is
    the time since the run's first reading (plus how long that one had already been low, as
    entered), or the duration entered now if longer. A reading at or above the limit ends
    the run; one without SpO2 leaves it running.
    """
    limit, since, out = protocol.monitoring.spo2_stop_below, None, []
    for r in readings:
        if r.spo2 is not None and r.spo2 < limit:
            start = r.minute - Decimal(r.spo2_below_seconds) / 60
            since = start if since is None else min(since, start)
            seconds = int(((r.minute - since) * 60).to_integral_value())
            r = r.model_copy(update={"spo2_below_seconds": max(r.spo2_below_seconds, seconds)})
        elif r.spo2 is not None:
            since = None
        out.append(r)
    return out


def evaluate_series(
    readings: Sequence[Reading], protocol: Protocol, at: MinuteLabel = after_start
) -> list[MonitoringDecision]:
    """The decision for each reading of a session, in order (`at` names a minute)."""
    state, decisions = _State(), []
    ordered = sorted(readings, key=lambda r: r.minute)
    for reading in with_low_spo2_durations(ordered, protocol):
        decision, state = _decide(reading, state, protocol.monitoring, at)
        decisions.append(decision)
    return decisions


def evaluate_reading(
    reading: Reading,
    earlier: Sequence[Reading],
    protocol: Protocol,
    at: MinuteLabel = after_start,
) -> MonitoringDecision:
    """The decision for `reading`, given the session's earlier readings (`at` names a
    minute after the start in the messages: the clock time where the service knows it)."""
    state = _State()
    ordered = [*sorted(earlier, key=lambda r: r.minute), reading]
    *before, current = with_low_spo2_durations(ordered, protocol)
    for previous in before:
        _, state = _decide(previous, state, protocol.monitoring, at)
    return _decide(current, state, protocol.monitoring, at)[0]
