"""Where the clinician was: the visit in progress, after a lock or a restart.

A lock forgets the open visit (its patient data) but keeps its id; a restart (a crash, a
kill, a flat battery) forgets everything. Both come back here at unlock: the visit is read
again from the store, and after a restart the lone-worker timer is rebuilt from the
visit's records. Vitals due and the recovery watch need nothing more: they are worked out
from the recorded start, readings and end whenever they are shown.
"""

from __future__ import annotations

from fieldapp.errors import FieldAppError
from fieldapp.services import safety
from fieldapp.services.clock import today
from fieldapp.services.context import AppServices
from fieldapp.services.today import open_visits
from fieldapp.services.visit import VisitSession

AT_THE_BEDSIDE = ("monitor", "recovery")
"""Steps whose screen opens by itself after a restart: their timers matter most."""


def in_progress(services: AppServices) -> VisitSession | None:
    """Today's visit checked in to and not checked out, if any."""
    found = open_visits(services.store, [today(services.clock)])
    return VisitSession.load(services, found[0].id) if found else None


def resume_visit(services: AppServices) -> VisitSession | None:
    """The visit in progress, made current again (its timer restored after a restart)."""
    try:
        if services.current_visit_id is not None:  # after a lock: the timer is still running
            session = VisitSession.load(services, services.current_visit_id)
        else:
            found = in_progress(services)
            if found is None:
                return None
            session = found
            safety.restore_timer(services, session)
    except FieldAppError:
        return None  # re-planned away at the office: nothing to resume
    if session.step in ("checkin", "done"):
        return None
    services.current_visit = session
    return session
