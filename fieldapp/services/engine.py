"""The one place the services meet the clinical engine (`fieldapp.clinical`).

Every clinical decision the app shows comes from the engine; this module only loads the
protocol once and adapts the engine's answers into the small shapes the screens show.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fieldapp.clinical.protocol import Protocol, load_protocol


@lru_cache(maxsize=4)
def protocol(path: Path | None = None) -> Protocol:
    """The clinic's protocol, read and validated once per path."""
    return load_protocol(path)


def lone_worker_step(overdue_minutes: int) -> tuple[str, str] | None:
    """The escalation step (id, action) reached after `overdue_minutes`, or None."""
    reached = None
    for step in protocol().lone_worker.steps:
        if overdue_minutes >= step.after_minutes:
            reached = (step.id, step.action)
    return reached


def duress_action() -> str:
    """What the protocol says to do on duress."""
    return protocol().lone_worker.duress_action
