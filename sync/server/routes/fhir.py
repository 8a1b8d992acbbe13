"""`GET /admin/fhir/export`: FHIR R4 for an EHR to pull with an admin token.

The same export as `fieldapp server export fhir`: what arrived after `since` (all when
absent), of one patient or all, as NDJSON of resources or NDJSON of one Bundle per patient.
The answer's `X-Export-Until` header is the `since` of the next pull. Each export is one
audit event holding counts only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Response

from sync.server import audit
from sync.server.config import ServerConfigError
from sync.server.db import transaction
from sync.server.deps import Admin, Ctx
from sync.server.fhir.codes import Codes
from sync.server.fhir.export import Window, resources, window_until
from sync.server.fhir.output import Tally, bundles, ndjson_lines
from sync.server.records_config import load_fhir

router = APIRouter(prefix="/admin/fhir", tags=["admin"])
NDJSON = "application/fhir+ndjson"


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {NDJSON: {}}, "description": "one resource per line"}},
)
def export(
    who: Admin,
    ctx: Ctx,
    since: datetime | None = None,
    patient: UUID | None = None,
    format: Literal["ndjson", "bundle"] = "ndjson",
) -> Response:
    """Resources that arrived after `since`, as NDJSON (or NDJSON of Bundles per patient)."""
    try:
        codes = Codes(load_fhir())
    except ServerConfigError as exc:
        raise HTTPException(503, {"error": "fhir_config", "detail": str(exc)}) from None
    until = window_until(ctx.clock(), codes.settings.settle_s)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    window = Window(since, until, str(patient) if patient else None)
    tally = Tally()
    with transaction(ctx.engine) as session:
        pairs = tally.count(resources(session, codes, window))
        if format == "bundle":
            pairs = bundles(list(pairs), codes, until)
        body = b"".join(ndjson_lines(pairs))
        audit.append(
            session,
            actor=who.user,
            device_id=who.device_id,
            action="fhir_export",
            outcome="ok",
            detail={
                "format": format,
                "since": since.isoformat() if since else None,
                "until": until.isoformat(),
                "patient": window.patient,
                **tally.audit_detail(),
            },
            now=ctx.clock(),
        )
    return Response(body, media_type=NDJSON, headers={"X-Export-Until": until.isoformat()})
