"""The signed manifest at the end of every pull (`sync.manifest`): what the laptop should hold.

It lists the clinician's visits in the window, their patients' summaries and every protocol
document, each at its version, as of the pull's high-water mark: a row changed after that
mark is left out (the laptop has not been sent it yet; the next pull lists it), so the
laptop holds every listed row at exactly the listed version once it applied the page.

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
_VISITS = select(_VISIT.id, _VISIT.version, _VISIT.patient_id).where(
    _VISIT.clinician_id == bindparam("who"),
    _VISIT.scheduled_on.between(bindparam("first"), bindparam("last")),
    _VISIT.change_seq <= bindparam("hw"),
)
# A patient without a clinical part is never sent to a clinician (`crud.patient_summary`).
_PATIENTS = select(_PATIENT.id, _PATIENT.version).where(
    _PATIENT.id.in_(bindparam("ids", expanding=True)),
    _PATIENT.change_seq <= bindparam("hw"),
    _PATIENT.clinical.is_not(None),
)
_DOCS = select(_DOC.id, _DOC.version).where(_DOC.change_seq <= bindparam("hw"))


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
    bounds = {"hw": high_water}
    visits = conn.execute(
        _VISITS, {**bounds, "who": clinician, "first": window[0], "last": window[1]}
    ).all()
    entries = [("visit", row.id, row.version) for row in visits]
    patient_ids = sorted({row.patient_id for row in visits})
    if patient_ids:
        patients = conn.execute(_PATIENTS, {**bounds, "ids": patient_ids})
        entries += [("patient", row.id, row.version) for row in patients]
    entries += [("protocol_doc", row.id, row.version) for row in conn.execute(_DOCS, bounds)]
    return sign(signing_key(conn), manifest_body(device_id, high_water, entries))
