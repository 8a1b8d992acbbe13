"""The clinic's structured clinical record: read, replace, import a CSV. Admin role only.

Every call is audited with the patient's id and the record's version, never its content.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import anyio
from fastapi import APIRouter, Request
from pydantic import BaseModel

from sync.clinical_record import ClinicalRecord
from sync.server import audit, clinical
from sync.server.db import transaction
from sync.server.deps import Admin, Ctx
from sync.server.errors import Invalid, NotFound

router = APIRouter(prefix="/clinical", tags=["clinical record"])


class RecordPublic(BaseModel):
    """A patient's clinical record and its version."""

    patient_id: UUID
    version: int
    record: ClinicalRecord


class ImportResult(BaseModel):
    """What a CSV import stored."""

    patients: int
    entries: int


def _audit(session: Any, who: Admin, ctx: Ctx, action: str, detail: dict[str, Any]) -> None:
    audit.append(
        session,
        actor=who.user,
        device_id=who.device_id,
        action=action,
        outcome="ok",
        detail=detail,
        now=ctx.clock(),
    )


@router.get("/patients/{patient_id}/record", response_model=RecordPublic)
def get_record(patient_id: UUID, who: Admin, ctx: Ctx) -> RecordPublic:
    """The patient's newest record (404 when none was ever stored)."""
    with transaction(ctx.engine) as session:
        record = clinical.get_record(session, str(patient_id))
        version = clinical.latest_version(session, str(patient_id))
        _audit(session, who, ctx, "read_clinical_record", {"patient": str(patient_id)})
    if record is None:
        raise NotFound("No clinical record for that patient.")
    return RecordPublic(patient_id=patient_id, version=version, record=record)


@router.put("/patients/{patient_id}/record", response_model=RecordPublic)
def put_record(patient_id: UUID, body: ClinicalRecord, who: Admin, ctx: Ctx) -> RecordPublic:
    """Store the patient's whole record as its newest version (earlier ones are kept)."""
    with transaction(ctx.engine) as session:
        version = clinical.put_record(session, str(patient_id), body, who.user, ctx.now())
        _audit(
            session,
            who,
            ctx,
            "put_clinical_record",
            {"patient": str(patient_id), "version": version},
        )
    return RecordPublic(patient_id=patient_id, version=version, record=body)


CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/import",
    response_model=ImportResult,
    responses={422: {"description": "A bad row, naming its line and column"}},
    openapi_extra=CSV_BODY,
)
async def import_csv(request: Request, who: Admin, ctx: Ctx) -> ImportResult:
    """Import the clinic's CSV (text/csv, UTF-8): every record in it, or none."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the CSV is not UTF-8 text") from None
    if "\x00" in text:
        raise Invalid("the CSV holds a NUL character")

    def work() -> dict[str, int]:
        with transaction(ctx.engine) as session:
            counts = clinical.import_csv(session, text, who.user, ctx.now())
            _audit(session, who, ctx, "import_clinical_records", counts)
        return counts

    return ImportResult(**await anyio.to_thread.run_sync(work))
