"""`GET /visits` and `GET /visits/{id}`: a clinician's own assignments, nobody else's.

Another clinician's visit answers 404, exactly like one that does not exist (OWASP API1).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter

from sync.records import Visit
from sync.server import audit, crud
from sync.server.db import transaction
from sync.server.deps import Clinician, Ctx
from sync.server.errors import NotFound
from sync.server.models import VisitRow

router = APIRouter(prefix="/visits", tags=["clinician"])


@router.get("", response_model=list[Visit])
def list_visits(principal: Clinician, ctx: Ctx, on: date | None = None) -> list[Visit]:
    """The caller's visits (optionally of one day)."""
    with transaction(ctx.engine) as session:
        rows = crud.visits_for(session, principal.user, on)
        audit.append(
            session,
            actor=principal.user,
            device_id=principal.device_id,
            action="read_visits",
            outcome="ok",
            detail={"visits": [row.id for row in rows]},
            now=ctx.clock(),
        )
        return [crud.visit_record(row) for row in rows]


@router.get("/{visit_id}", response_model=Visit)
def get_visit(visit_id: UUID, principal: Clinician, ctx: Ctx) -> Visit:
    """One of the caller's visits."""
    with transaction(ctx.engine) as session:
        row = session.get(VisitRow, str(visit_id))
        found = row is not None and row.clinician_id == principal.user
        audit.append(
            session,
            actor=principal.user,
            device_id=principal.device_id,
            action="read_visit",
            outcome="ok" if found else "not_found",
            detail={"visit": str(visit_id)},
            now=ctx.clock(),
        )
    if not found or row is None:
        raise NotFound("No such visit among your assignments.")
    return crud.visit_record(row)
