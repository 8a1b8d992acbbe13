"""The signed manifest at the end of every pull (`sync.manifest`): what the laptop should hold.

It lists the clinician's whole scope: their visits in the window, those visits' patients
(the ones with a clinical part, as pull sends them) and every protocol document. Each row
changed at or before the pull's high-water mark is listed at its version: the laptop has
been sent exactly that version once it applied the page. A row changed after the mark is
listed at version 0 ("in scope, its newer version comes with the next pull"), and so is a
patient first reached through such a visit: its row may not have been sent yet.

The signing key lives in `server_meta` (made by migration 0003): every worker signs with
the same key, and a database restored from a backup keeps it, so laptops still verify.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from sync.manifest import SignedManifest, manifest_body, new_signing_key, public_key, sign
from sync.server.models import Patient, ProtocolDocRow, ServerMeta, VisitRow

KEY_NAME = "manifest_key"

_VISIT = VisitRow.__table__.c  # type: ignore[attr-defined]
_PATIENT = Patient.__table__.c  # type: ignore[attr-defined]
_DOC = ProtocolDocRow.__table__.c  # type: ignore[attr-defined]

_KEY = text(f"SELECT value FROM server_meta WHERE key = '{KEY_NAME}'")
_VISITS = select(_VISIT.id, _VISIT.version, _VISIT.patient_id, _VISIT.change_seq).where(
    _VISIT.clinician_id == bindparam("who"),
    _VISIT.scheduled_on.between(bindparam("first"), bindparam("last")),
)
# A patient without a clinical part is never sent to a clinician (`crud.patient_summary`).
_PATIENTS = select(_PATIENT.id, _PATIENT.version, _PATIENT.change_seq).where(
    _PATIENT.id.in_(bindparam("ids", expanding=True)), _PATIENT.clinical.is_not(None)
)
_DOCS = select(_DOC.id, _DOC.version, _DOC.change_seq)


def signing_key(conn: Connection) -> str:
    """This database's manifest signing key (hex), made here if migrations did not."""
    key = conn.execute(_KEY).scalar()
    if key is not None:
        return str(key)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(ServerMeta)
        .values(key=KEY_NAME, value=new_signing_key())
        .on_conflict_do_nothing()
    )
    return str(conn.execute(_KEY).scalar_one())


def manifest_key(conn: Connection) -> str:
    """The public key laptops verify manifests with (base64), handed out at enrolment."""
    return public_key(signing_key(conn))


def scope_manifest(
    conn: Connection,
    device_id: str,
    clinician: str,
    window: tuple[date, date],
    high_water: int,
) -> SignedManifest:
    """The signed manifest of one clinician's scope as of `high_water`."""

    def at(version: int, change_seq: int) -> int:
        return version if change_seq <= high_water else 0

    visits = conn.execute(_VISITS, {"who": clinician, "first": window[0], "last": window[1]}).all()
    entries = [("visit", row.id, at(row.version, row.change_seq)) for row in visits]
    sent_with = {row.patient_id for row in visits if row.change_seq <= high_water}
    patient_ids = sorted({row.patient_id for row in visits})
    if patient_ids:
        entries += [
            ("patient", row.id, at(row.version, row.change_seq) if row.id in sent_with else 0)
            for row in conn.execute(_PATIENTS, {"ids": patient_ids})
        ]
    entries += [
        ("protocol_doc", row.id, at(row.version, row.change_seq)) for row in conn.execute(_DOCS)
    ]
    return sign(signing_key(conn), manifest_body(device_id, high_water, entries))
