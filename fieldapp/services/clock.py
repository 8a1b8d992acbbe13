"""Time as the app sees it: the system clock, or a hand-driven one for tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Something that tells the current, timezone-aware time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in the laptop's local timezone (or a given one).

    `offset` moves it by a fixed amount: the demo of another day runs on real time of day.
    """

    def __init__(self, tz: ZoneInfo | None = None, offset: timedelta = timedelta(0)) -> None:
        self._tz = tz
        self._offset = offset

    def now(self) -> datetime:
        """The current time."""
        return (datetime.now(self._tz or UTC) + self._offset).astimezone(self._tz)


class ManualClock:
    """A clock that moves only when told to: tests and benchmarks drive time by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        """The current (manual) time."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move time forward by a `timedelta(**delta)` and return the new time."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when`."""
        self._now = when


def today(clock: Clock) -> date:
    """The clinician's local calendar day."""
    return clock.now().date()


def clock_time(when: datetime, clock: Clock) -> str:
    """`when` as the clinician reads it: HH:MM in the clinic's zone (the clock's zone).

    Records keep their own offset (a reading synced back may come in UTC); what a person
    reads is always the wall clock where the visit happens.
    """
    return f"{when.astimezone(clock.now().tzinfo):%H:%M}"


def whole_minutes(delta: timedelta) -> int:
    """A duration as the whole minutes that have passed (never a fraction)."""
    return max(0, int(delta.total_seconds() // 60))


def minutes_left(delta: timedelta) -> int:
    """Whole minutes still to go, rounded up: "1 min to go" until none is left."""
    seconds = delta.total_seconds()
    return 0 if seconds <= 0 else int(-(-seconds // 60))
