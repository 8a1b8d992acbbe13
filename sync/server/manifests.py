"""The signed manifest at the end of every pull (`sync.manifest`): what the laptop should hold.

It lists the clinician's whole scope: their visits in the window, those visits' patients
(the ones with a clinical part, as pull sends them), the patients of their break-glass
grants in force with those patients' visits in the window, and every protocol document. Each row
changed at or before the pull's high-water mark is listed at its version: the laptop has
been sent exactly that version once it applied the page. A row changed after the mark is
listed at version 0 ("in scope, its newer version comes with the next pull"), and so is a
patient first reached through such a visit: its row may not have been sent yet.

The signing key lives in `server_meta` (made by migration 0003): every worker signs with
the same key, and a database restored from a backup keeps it, so laptops still verify.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ARRAY, Connection, Date, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite

from sync.manifest import SignedManifest, manifest_body, new_signing_key, public_key, sign
from sync.server.db import fetch_rows
from sync.server.models import ServerMeta

KEY_NAME = "manifest_key"

# The whole scope in one statement (a pull's last page runs it): the clinician's visits in
# the window, their patients with a clinical part (pull never sends the others, see
# `crud.patient_summary`) and when the first of their visits changed, every protocol document,
# and the clinician's own profile.
_SCOPE_SQL = """
    WITH scope AS (
        SELECT id, version, patient_id, change_seq FROM visit
        WHERE clinician_id = :who AND scheduled_on BETWEEN :first AND :last
    )
    SELECT 'visit' AS kind, id, version, change_seq, change_seq AS reached FROM scope
    UNION ALL
    SELECT 'patient', p.id, p.version, p.change_seq, s.reached FROM patient p
    JOIN (SELECT patient_id, min(change_seq) AS reached FROM scope GROUP BY patient_id) s
        ON s.patient_id = p.id
    WHERE p.clinical IS NOT NULL
    UNION ALL
    SELECT 'protocol_doc', id, version, change_seq, change_seq FROM protocol_doc
    UNION ALL
    SELECT 'clinician_profile', id, version, change_seq, change_seq FROM clinician_profile
    WHERE user_name = :who
    """
# On PostgreSQL the window goes as its list of days (see `pull._VISITS_IN_WINDOW`).
_SCOPE = {
    "sqlite": text(_SCOPE_SQL).bindparams(
        bindparam("first", type_=Date), bindparam("last", type_=Date)
    ),
    "postgresql": text(
        _SCOPE_SQL.replace("scheduled_on BETWEEN :first AND :last", "scheduled_on = ANY(:days)")
    ).bindparams(bindparam("days", type_=ARRAY(Date))),
}
# Break-glass patients: listed like the scope's (only those with a clinical part).
_GRANTED = text(
    "SELECT id, version, change_seq FROM patient WHERE id IN :ids AND clinical IS NOT NULL"
).bindparams(bindparam("ids", expanding=True))
_KEY = text(f"SELECT value FROM server_meta WHERE key = '{KEY_NAME}'")


def window_days(window: tuple[date, date]) -> dict[str, Any]:
    """The parameters naming a pull window: its first and last day, and every day in it."""
    first, last = window
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {"first": first, "last": last, "days": days}


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
    key: str | None = None,
    granted: Mapping[str, int] | None = None,
    granted_visits: Sequence[tuple[str, int, int, int]] = (),
) -> SignedManifest:
    """The signed manifest of one clinician's scope as of `high_water` (`key`: the signing
    key when the caller has read it already). `granted`: patients in scope through a
    break-glass grant only, each with the grant's change number (when it reached them);
    `granted_visits`: their visits another clinician holds, as (id, version, change
    number, the grant's change number)."""
    scope = fetch_rows(conn, _SCOPE[conn.dialect.name], {"who": clinician, **window_days(window)})
    rows: list[tuple[str, str, int, int, int]] = [tuple(row) for row in scope]  # type: ignore[misc]
    if granted:
        for pid, version, change_seq in conn.execute(_GRANTED, {"ids": sorted(granted)}):
            rows.append(("patient", pid, version, change_seq, granted[pid]))
    rows += [("visit", *row) for row in granted_visits]
    entries = [
        (kind, rid, version if change_seq <= high_water and reached <= high_water else 0)
        for kind, rid, version, change_seq, reached in rows
    ]
    return sign(key or signing_key(conn), manifest_body(device_id, high_water, entries))
