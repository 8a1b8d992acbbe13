"""The one place the services meet the clinical engine (`fieldapp.clinical`).

Every clinical decision the app shows comes from the engine; this module only loads the
protocol once and adapts the engine's answers into the small shapes the screens show.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldapp.clinical.protocol import Protocol
    from fieldapp.clinical.vocabulary import Vocabulary

# A protocol laid over the clinic's for one run of visit cases (`[case.settings]`).
_OVERRIDE: ContextVar[Protocol | None] = ContextVar("protocol_override", default=None)

# The engine is imported on first use: the app opens today's list without it.


def protocol(path: Path | None = None) -> Protocol:
    """The clinic's protocol (or the one a visit case lays over it), read once per path."""
    override = _OVERRIDE.get()
    return override if override is not None and path is None else _load_protocol(path)


@lru_cache(maxsize=4)
def _load_protocol(path: Path | None) -> Protocol:
    from fieldapp.clinical.protocol import load_protocol

    return load_protocol(path)


@contextmanager
def using_protocol(replacement: Protocol) -> Iterator[None]:
    """Within the block, every service decides by `replacement` (a case's own settings)."""
    token = _OVERRIDE.set(replacement)
    try:
        yield
    finally:
        _OVERRIDE.reset(token)


@lru_cache(maxsize=2)
def vocabulary(path: Path | None = None) -> Vocabulary:
    """The clinic's vocabulary of record entries, read and validated once."""
    from fieldapp.clinical.vocabulary import load_vocabulary

    return load_vocabulary(path)


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
