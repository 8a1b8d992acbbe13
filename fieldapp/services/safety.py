"""Lone-worker safety: the "I am safe" check-in and duress, recorded at once.

Duress is silent by design: no dialog to confirm (a confirmation would show on the
screen of someone being threatened). Its signal goes out on its own credential
(`services/duress.py`); here it is also written into the store as an emergency status
event and a critical incident, which the app then asks sync to send at once.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from fieldapp.services import engine
from fieldapp.services.context import AppServices
from sync.records import Incident, StatusEvent


def _where(services: AppServices) -> tuple[UUID | None, UUID | None]:
    """(patient, visit) of the open visit; between visits neither (the records allow it)."""
    session: Any = services.current_visit
    if session is None:
        return None, None
    return session.patient.id, session.visit.id


def duress(services: AppServices, at: datetime | None = None) -> tuple[StatusEvent, Incident]:
    """Record a duress event and a critical incident, now (or when the key was pressed
    while the store was locked: recorded at the next unlock)."""
    now = at or services.clock.now()
    patient_id, visit_id = _where(services)
    base = {
        "patient_id": patient_id,
        "visit_id": visit_id,
        "recorded_at": now,
        "recorded_by": services.user,
    }
    event = StatusEvent(id=uuid.uuid4(), status="duress", at=now, note="duress key", **base)
    incident = Incident(
        id=uuid.uuid4(),
        category="duress",
        severity="critical",
        occurred_at=now,
        description=f"Duress signal from the clinician. {engine.duress_action()}",
        **base,
    )
    services.store.save(event)
    services.store.save(incident)
    return event, incident


def _check_in(services: AppServices, note: str) -> StatusEvent:
    """Record a lone-worker check-in where the clinician is now."""
    now = services.clock.now()
    patient_id, visit_id = _where(services)
    event = StatusEvent(
        id=uuid.uuid4(),
        status="check_in",
        at=now,
        patient_id=patient_id,
        visit_id=visit_id,
        recorded_at=now,
        recorded_by=services.user,
        note=note,
    )
    services.store.save(event)
    return event


SAFE_NOTE = "safe"
EXTEND_NOTE = "safe, needs {minutes} more min"
_EXTENDED = re.compile(r"^safe, needs (\d+) more min$")


def safe_check_in(services: AppServices) -> StatusEvent:
    """An "I am safe" check-in (answers the overdue prompt)."""
    event = _check_in(services, SAFE_NOTE)
    state = services.lone_worker.state()
    if state.step_id is not None:
        services.lone_worker.acknowledge(state.step_id)
    return event


def extend_visit(services: AppServices, minutes: int) -> StatusEvent:
    """The clinician is safe and needs longer: recorded, and check-out moves later."""
    event = _check_in(services, EXTEND_NOTE.format(minutes=minutes))
    services.lone_worker.extend(minutes)
    return event


def default_extension_minutes() -> int:
    """How much longer "I need more time" asks for: until the ladder's first rung."""
    return engine.protocol().lone_worker.steps[0].after_minutes


def restore_timer(services: AppServices, session: Any) -> None:
    """The lone-worker timer of a visit in progress, rebuilt from its records (after a
    restart): arrival, each "more time" answer, and the last step answered "I am safe"."""
    arrived = session.status_at("arrived")
    if arrived is None:
        return
    expected = arrived + timedelta(minutes=session.visit.duration_min)
    answered: str | None = None
    for event in sorted(session.of(StatusEvent), key=lambda e: e.at):
        if event.status != "check_in":
            continue
        more = _EXTENDED.match(event.note or "")
        if more:
            expected, answered = event.at + timedelta(minutes=int(more[1])), None
        elif event.note == SAFE_NOTE:
            step = engine.lone_worker_step(expected, event.at)
            answered = step[0] if step is not None else answered
    services.lone_worker.resume(session.visit.id, arrived, expected, answered)
