"""What the lock screen may show during a visit: times only, never a name or a value.

The app builds a `SafeWatch` from the open visit just before it locks (the visit's records
are in memory then) and drops the visit itself. The lock screen ticks the watch against
the clock: "Vitals due in 2 min", how long the infusion has run, the recovery watch. It
holds datetimes and nothing else, so it may stay in memory while the key may not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class SafeWatch:
    """The timers of the visit in progress: when things started and fall due."""

    infusion_started_at: datetime | None = None
    infusion_ended_at: datetime | None = None
    vitals_due_at: datetime | None = None
    rr_rass_due_at: datetime | None = None
    observation_until: datetime | None = None

    @property
    def infusing(self) -> bool:
        """Whether an infusion is running."""
        return self.infusion_started_at is not None and self.infusion_ended_at is None

    @property
    def recovering(self) -> bool:
        """Whether the patient is in the recovery watch."""
        return self.infusion_ended_at is not None

    def vitals_due(self, now: datetime) -> bool:
        """Whether a set of vitals is due now."""
        return self.vitals_due_at is not None and now >= self.vitals_due_at

    def lines(self, now: datetime) -> list[str]:
        """The watch as short sentences (nothing at all between visits)."""
        out: list[str] = []
        if self.infusing and self.infusion_started_at is not None:
            out.append(f"Infusion running {_minutes(now - self.infusion_started_at)} min")
        elif self.recovering and self.infusion_ended_at is not None:
            seen = _minutes(now - self.infusion_ended_at)
            text = f"Recovery watch {seen} min"
            if self.observation_until is not None and now < self.observation_until:
                text += f" · {_minutes_up(self.observation_until - now)} min to go"
            elif self.observation_until is not None:
                text += " · minimum observation done"
            out.append(text)
        if self.vitals_due_at is not None:
            out.append(_due("Vitals", self.vitals_due_at, now))
        if self.rr_rass_due_at is not None:
            out.append(_due("RR and RASS", self.rr_rass_due_at, now))
        return out


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def _minutes_up(delta: timedelta) -> int:
    """Whole minutes, rounded up: "due in 1 min" until it is due, never "in 0 min"."""
    return max(1, -int(-delta.total_seconds() // 60))


def _due(what: str, at: datetime, now: datetime) -> str:
    at = at.astimezone(now.tzinfo)
    if now >= at:
        return f"{what.upper()} DUE now (since {at:%H:%M})"
    return f"{what} due in {_minutes_up(at - now)} min ({at:%H:%M})"


def safe_watch(session: Any) -> SafeWatch:
    """The watch of a visit session at the monitor or recovery step (empty otherwise)."""
    from fieldapp.services.infusion import Infusion
    from fieldapp.services.recovery import Recovery

    if session is None or session.step not in ("monitor", "recovery"):
        return SafeWatch()
    infusion = Infusion(session)
    started = infusion.started_at
    if started is None:
        return SafeWatch()
    if not infusion.ended:
        return SafeWatch(
            infusion_started_at=started,
            vitals_due_at=infusion.next_due(),
            rr_rass_due_at=infusion.rr_rass_due(),
        )
    recovery = Recovery(session)
    return SafeWatch(
        infusion_started_at=started,
        infusion_ended_at=session.status_at("infusion_ended"),
        vitals_due_at=recovery.next_vitals_due(),
        observation_until=recovery.observation_until(),
    )
