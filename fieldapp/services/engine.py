"""The one place the services meet the clinical engine (`fieldapp.clinical`).

Every clinical decision the app shows comes from the engine; this module only loads the
protocol once and adapts the engine's answers into the small shapes the screens show.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldapp.clinical.protocol import Protocol

# The engine is imported on first use: the app opens today's list without it.


@lru_cache(maxsize=4)
def protocol(path: Path | None = None) -> Protocol:
    """The clinic's protocol, read and validated once per path."""
    from fieldapp.clinical.protocol import load_protocol

    return load_protocol(path)


def lone_worker_step(planned_end: datetime, now: datetime) -> tuple[str, str] | None:
    """The escalation step (id, action) the ladder has reached at `now`, or None."""
    from fieldapp.clinical.lone_worker import LoneWorkerInput, evaluate_ladder

    decision = evaluate_ladder(LoneWorkerInput(planned_end=planned_end, now=now), protocol())
    if decision.step == "none":
        return None
    return decision.step, decision.actions[-1]


def duress_action() -> str:
    """What the protocol says to do on duress."""
    return protocol().lone_worker.duress_action
