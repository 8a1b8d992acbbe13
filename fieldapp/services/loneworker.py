"""The lone-worker timer: on a visit since when, check-out due when, overdue how far.

The escalation ladder itself (which step applies after how many minutes) belongs to the
clinical engine and the protocol file; this module only keeps the clock and asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from fieldapp.services import engine
from fieldapp.services.clock import Clock


@dataclass(frozen=True)
class LoneWorkerState:
    """What the status line shows about the clinician's safety timer."""

    text: str
    overdue_minutes: int = 0
    step_id: str | None = None
    action: str | None = None

    @property
    def overdue(self) -> bool:
        """Whether a ladder step has been reached."""
        return self.step_id is not None


class LoneWorkerWatch:
    """Tracks the current visit's check-in and the expected check-out."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.visit_id: UUID | None = None
        self.checked_in_at: datetime | None = None
        self.expected_out: datetime | None = None
        self.acknowledged_step: str | None = None

    def check_in(self, visit_id: UUID, expected_out: datetime) -> None:
        """Start the timer at arrival."""
        self.visit_id = visit_id
        self.checked_in_at = self._clock.now()
        self.expected_out = expected_out
        self.acknowledged_step = None

    def resume(
        self,
        visit_id: UUID,
        checked_in_at: datetime,
        expected_out: datetime,
        acknowledged_step: str | None,
    ) -> None:
        """Pick the timer up again as it stood (after a restart, from the visit's records)."""
        self.visit_id, self.checked_in_at = visit_id, checked_in_at
        self.expected_out, self.acknowledged_step = expected_out, acknowledged_step

    def check_out(self) -> None:
        """Stop the timer at check-out."""
        self.visit_id = None
        self.checked_in_at = None
        self.expected_out = None
        self.acknowledged_step = None

    def extend(self, minutes: float) -> None:
        """The clinician needs longer: check-out is now due `minutes` from now."""
        if self.checked_in_at is not None:
            self.expected_out = self._clock.now() + timedelta(minutes=minutes)
            self.acknowledged_step = None

    def needs_prompt(self) -> LoneWorkerState | None:
        """The overdue state when a ladder step is reached that nobody answered yet."""
        state = self.state()
        if state.step_id is None or state.step_id == self.acknowledged_step:
            return None
        return state

    def acknowledge(self, step_id: str) -> None:
        """The clinician answered the overdue prompt for this step."""
        self.acknowledged_step = step_id

    def state(self) -> LoneWorkerState:
        """The timer as the status line shows it."""
        if self.checked_in_at is None or self.expected_out is None:
            return LoneWorkerState("not on a visit")
        now = self._clock.now()
        on_site = _minutes(now - self.checked_in_at)
        if now <= self.expected_out:
            left = _minutes(self.expected_out - now)
            return LoneWorkerState(
                f"on visit {_hm(on_site)}, check-out due "
                f"{self.expected_out.astimezone(now.tzinfo):%H:%M} ({left} min)"
            )
        overdue = _minutes(now - self.expected_out)
        step = engine.lone_worker_step(self.expected_out, now)
        if step is None:
            return LoneWorkerState(f"check-out {overdue} min late", overdue)
        step_id, action = step
        return LoneWorkerState(
            f"OVERDUE {overdue} min: {action}", overdue, step_id=step_id, action=action
        )


def _minutes(delta: object) -> int:
    return int(delta.total_seconds() // 60)  # type: ignore[attr-defined]


def _hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"
