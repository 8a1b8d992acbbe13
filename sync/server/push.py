"""Receiving a device's outbox: every record stored once, bad ones set aside, never replaced.

For each item the answer is `applied`, `duplicate` (already here, same content),
`conflict` (same id, other content: kept for review, the stored one stays) or `rejected`
(invalid, a server-owned kind, or outside the clinician's reach: kept for review). A
record about a patient of the clinician's break-glass grant, made while it held, is within
reach. One bad
record never holds up the rest. Each device seq gets a receipt, so a replayed batch (a
lost reply, a duplicated request) gets the same answers and changes nothing.

The device's chain (`sync.outbox.next_chain_hash`) is checked against what the server
already holds for that device: a store restored from an older copy is behind or forks
from it, and is refused with `StoreRolledBack`.

Gap-free by construction: the server keeps each device's head, the newest seq it holds with
every seq below it. A push continues from that head (seq head+1, head+2, ... with no hole;
seqs at or below it are replays) or is refused with `PushGap`, carrying the head, and the
device sends again everything above it. So every new item's predecessor is known and its
chain link is always checked. A device that was confirmed more than the server now holds
(the database was restored from a backup) is refused with `ServerBehind`, likewise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import orjson
from psycopg.rows import namedtuple_row
from psycopg.types.json import Json
from sqlalchemy import ARRAY, Connection, String, any_, bindparam, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from sync.canonical import canonical_text

if TYPE_CHECKING:
    import psycopg

from sync.outbox import GENESIS_CHAIN_HASH, next_chain_hash
from sync.records import (
    DEVICE_KINDS,
    SERVER_KINDS,
    DeviceRecord,
    RecordInvalid,
    StatusEvent,
    parse_record,
)
from sync.server import crud
from sync.server.auth import Caller
from sync.server.break_glass import BreakGlassGrant
from sync.server.db import is_postgres
from sync.server.errors import Invalid, PushGap, ServerBehind, StoreRolledBack
from sync.server.models import (
    DeviceRecordRow,
    Receipt,
    ReviewItem,
    VisitRow,
)
from sync.server.purge import accounted_for
from sync.server.pushed_signatures import Refusal, TelephoneOrder, check_pushed_signatures
from sync.server.schemas import Head, PushItem, PushRequest
from sync.server.signatures import check_signed_notes

NOT_YOURS_VISIT = "visit_id: not among your assignments"
NOT_YOURS_PATIENT = "patient_id: not among your patients"
OTHER_PATIENTS_VISIT = "visit_id: that visit is another patient's"
NOT_YOUR_NAME = "recorded_by: must be the clinician this laptop is enrolled to"
WITHHELD_REASON = "payload: larger than the server accepts; the record stays on the laptop"
PURGED_HERE = "record_id: only its content hash is left on the laptop; the clinic accounts for it"
NOT_PURGED_HERE = (
    "record_id: the laptop says the clinic purged this record, but the clinic has no purge "
    "of it; only its content hash is left"
)


@dataclass(slots=True)
class Outcome:
    """What happened to one pushed item: `schemas.PushResult` (orjson writes it as is)."""

    seq: int
    status: str  # applied, duplicate, conflict or rejected
    reason: str | None = None


@dataclass
class PushSummary:
    """The per-item results and what the audit event needs (ids only)."""

    results: list[Outcome]
    applied_ids: list[str] = field(default_factory=list)
    set_aside_ids: list[str] = field(default_factory=list)
    # records set aside for a signature they carry (an approval, a second check): audited
    signatures_refused: list[Refusal] = field(default_factory=list)
    # telephone orders stored whose co-sign requests the clinic must raise itself
    telephone_orders: list[TelephoneOrder] = field(default_factory=list)
    head: dict[str, Any] = field(default_factory=dict)  # the device's head after this push

    def counts(self) -> dict[str, int]:
        """How many items got each status."""
        out: dict[str, int] = {}
        for result in self.results:
            out[result.status] = out.get(result.status, 0) + 1
        return out


@dataclass
class Incoming:
    """One pushed item being judged: its record once valid, or why it is set aside."""

    item: PushItem
    record: DeviceRecord | None = None
    reason: str | None = None
    purged: bool = False  # a purge marker the clinic's purges account for
    canonical: str = ""  # the record's canonical JSON: what the device hashed, and stored
    # ids as stored (text), taken from the record's JSON form where there is one
    rid: str = ""
    visit_id: str | None = None
    patient_id: str | None = None

    def set_aside(self, reason: str) -> None:
        """Keep this item for review instead of storing it."""
        self.record, self.reason = None, reason


def _insert_ignore(conn: Connection, table: type, rows: list[dict], returning=None):  # type: ignore[no-untyped-def,type-arg]
    if conn.dialect.name == "postgresql":
        return _pg_insert_ignore(conn, table, rows, returning)
    statement = sqlite_insert(table).on_conflict_do_nothing()
    if returning is not None:
        return conn.execute(statement.returning(returning), rows).scalars().all()
    conn.execute(statement, rows)
    return []


def _pg_insert_ignore(conn: Connection, table: type, rows: list[dict], returning=None):  # type: ignore[no-untyped-def,type-arg]
    """One short statement whose rows arrive as a single JSON parameter, run on the driver.

    The statement text is the same on every batch, so it is prepared once; and one JSON
    document (written by orjson, handed to the driver as bytes) costs a fraction of what
    per-column arrays do, which the driver escapes element by element in Python. The
    driver's own cursor returns the inserted ids without the ORM's result machinery.
    """
    name = table.__tablename__  # type: ignore[attr-defined]
    columns = ", ".join(rows[0])
    sql = (
        f"INSERT INTO {name} ({columns}) "
        f"SELECT {columns} FROM json_populate_recordset(NULL::{name}, %s) "
        "ON CONFLICT DO NOTHING"
    )
    if returning is not None:
        sql += f" RETURNING {returning.key}"
    raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    cursor = raw.execute(sql, (Json(rows, dumps=orjson.dumps),))  # type: ignore[arg-type]
    return [row[0] for row in cursor.fetchall()] if returning is not None else []


_RECORD_COLUMNS = (
    "id, kind, device_id, user_name, patient_id, visit_id, seq, content_hash, payload, "
    "received_at, after_revocation"
)
_RECEIPT_COLUMNS = "device_id, seq, record_id, chain_hash, status, reason"
# A push's writes in one statement, prepared once: the records (those already stored are
# left as they are), the receipts whose answer is known before the insert (a candidate's,
# `applied`, only if its row went in) and the device's head. Every push runs this same
# text, so concurrent pushes of one device take their locks in the same order.
# What PostgreSQL parses is kept small: a record's own fields go as JSON rows
# (`_PG_RECORD_FIELDS`), its payload, most of its bytes, in a binary text array beside
# them (a JSON string holding JSON is lexed character by character, about a third of what
# the insert cost the database), and what every row shares as single values.
_PG_RECORD_FIELDS = ("id", "kind", "patient_id", "visit_id", "seq", "content_hash")
_PG_RECEIPT_FIELDS = ("seq", "record_id", "chain_hash", "status", "reason")
_PG_STORE = f"""
WITH stored AS (
    INSERT INTO device_record ({_RECORD_COLUMNS})
    SELECT r.id, r.kind, %(device)s, %(user)s, r.patient_id, r.visit_id, r.seq,
        r.content_hash, r.payload, %(now)s, %(revoked)s
    FROM ROWS FROM (
        json_to_recordset(%(records)s) AS (
            id text, kind text, patient_id text, visit_id text, seq integer, content_hash text
        ),
        unnest(%(payloads)b::text[])
    ) AS r(id, kind, patient_id, visit_id, seq, content_hash, payload)
    ON CONFLICT DO NOTHING
    RETURNING id
), receipts AS (
    INSERT INTO device_receipt ({_RECEIPT_COLUMNS})
    SELECT %(device)s, r.seq, r.record_id, r.chain_hash, r.status, r.reason
    FROM json_to_recordset(%(receipts)s) AS r(
        seq integer, record_id text, chain_hash text, status text, reason text
    )
    WHERE r.status <> 'applied' OR r.record_id IN (SELECT id FROM stored)
    ON CONFLICT DO NOTHING
), head AS (
    UPDATE device SET head_seq = %(seq)s, head_hash = %(hash)s
    WHERE id = %(device)s AND head_seq < %(seq)s
)
SELECT id FROM stored
"""


def _pg_store(
    conn: Connection,
    device: Caller,
    records: list[dict[str, Any]],
    receipts: list[dict[str, Any]],
    now: float,
    advance: dict[str, Any] | None,
) -> set[str]:
    """`_PG_STORE` on the driver's cursor: the ids of the records it inserted. `records` and
    `receipts` are rows as `_record_row` and `_receipt_row` make them."""
    raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    params = {
        "records": Json(
            [{name: row[name] for name in _PG_RECORD_FIELDS} for row in records],
            dumps=orjson.dumps,
        ),
        "payloads": [row["payload"] for row in records],
        "receipts": Json(
            [{name: row[name] for name in _PG_RECEIPT_FIELDS} for row in receipts],
            dumps=orjson.dumps,
        ),
        "device": device.device_id,
        "user": device.user,
        "now": now,
        "revoked": device.revoked,
        "seq": advance["seq"] if advance else None,
        "hash": advance["chain_hash"] if advance else None,
    }
    return {row[0] for row in raw.execute(_PG_STORE, params).fetchall()}  # type: ignore[arg-type]


def _among(column, values: list, conn: Connection):  # type: ignore[no-untyped-def,type-arg]
    """`column IN values`; one array parameter on PostgreSQL (a statement prepared once)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def check_head(device: Caller, head: Head) -> None:
    """Refuse a device whose chain head is behind, or forks from, what the server holds
    (`StoreRolledBack`), or that was confirmed more than the server holds (`ServerBehind`)."""
    if head.seq < device.head_seq or (
        head.seq == device.head_seq and head.chain_hash != device.head_hash
    ):
        raise StoreRolledBack(
            f"device head {head.seq} is behind or differs from the server's {device.head_seq}"
        )
    if head.confirmed is not None and head.confirmed > device.head_seq:
        raise ServerBehind(
            f"the device was confirmed seq {head.confirmed}, the server holds {device.head_seq}: "
            "send again from there",
            device.head_seq,
            device.head_hash,
        )


def _check_continuous(device: Caller, seqs: list[int]) -> None:
    """Refuse a batch whose new seqs (above the head) do not run on from the head."""
    fresh = [seq for seq in seqs if seq > device.head_seq]
    if fresh and (fresh[0] != device.head_seq + 1 or fresh[-1] - fresh[0] + 1 != len(fresh)):
        missing = device.head_seq + 1 if fresh[0] != device.head_seq + 1 else fresh[0] + 1
        raise PushGap(
            f"seq {missing} was never received: send again from seq {device.head_seq + 1}",
            device.head_seq,
            device.head_hash,
        )


def push(session: Session, device: Caller, request: PushRequest, now: float) -> PushSummary:
    """Store a batch; raises `StoreRolledBack`, `ServerBehind`, `PushGap` or `Invalid` for
    the whole batch."""
    check_head(device, request.head)
    items = sorted(request.items, key=lambda item: item.seq)
    seqs = [item.seq for item in items]
    if len(set(seqs)) != len(seqs):
        raise Invalid("items: each seq may appear once")
    unchanged = {"seq": device.head_seq, "chain_hash": device.head_hash}
    if not items:
        return PushSummary(results=[], head=unchanged)
    _check_continuous(device, seqs)
    known = _known_chain(session, device, seqs)
    results: dict[int, Outcome] = {}
    fresh: list[Incoming] = []
    for item in items:
        receipt = known.receipts.get(item.seq)
        if receipt is not None:
            if receipt.chain_hash != item.chain_hash:
                raise StoreRolledBack(f"device seq {item.seq} differs from what it sent before")
            status = "duplicate" if receipt.status in ("applied", "duplicate") else receipt.status
            results[item.seq] = Outcome(item.seq, status, receipt.reason)
            continue
        prev = known.hashes.get(item.seq - 1)
        if prev is not None and next_chain_hash(prev, item.content_hash) != item.chain_hash:
            raise StoreRolledBack(f"device chain breaks at seq {item.seq}")
        known.hashes[item.seq] = item.chain_hash
        fresh.append(_validate(item))
    _check_reach(session, device.user, fresh)
    check_signed_notes(session, device, fresh)
    refused, telephone = check_pushed_signatures(session, device, fresh)
    _check_purged(session, device.user, fresh)
    top = items[-1]
    advance = {"seq": top.seq, "chain_hash": top.chain_hash} if top.seq > device.head_seq else None
    summary = _store(session, device, fresh, results, now, advance)
    summary.signatures_refused = refused
    stored = [order for order in telephone if order.item.record is not None]
    # one request per order, though each of the checklist's templates carries it
    summary.telephone_orders = list({order.request_id: order for order in stored}.values())
    summary.head = advance or unchanged
    _flag_conflicts(session, fresh, summary, now)
    return summary


_ADVANCE_HEAD = text(
    "UPDATE device SET head_seq = :seq, head_hash = :hash WHERE id = :device AND head_seq < :seq"
)


@dataclass
class _Known:
    receipts: dict[int, Any]  # rows of (seq, chain_hash, status, reason)
    hashes: dict[int, str]


# A batch is a run of consecutive seqs, so its receipts are read as one range (a
# statement prepared once); a batch with wide gaps lists its seqs instead.
_RECEIPTS_IN_RANGE = text(
    "SELECT seq, chain_hash, status, reason FROM device_receipt"
    " WHERE device_id = :device AND seq BETWEEN :low AND :high"
)
_RECEIPTS_LISTED = text(
    "SELECT seq, chain_hash, status, reason FROM device_receipt"
    " WHERE device_id = :device AND seq IN :seqs"
).bindparams(bindparam("seqs", expanding=True))


_PG_RECEIPTS_IN_RANGE = (
    "SELECT seq, chain_hash, status, reason FROM device_receipt"
    " WHERE device_id = %(device)s AND seq BETWEEN %(low)s AND %(high)s"
)
_PG_RECEIPTS_LISTED = (
    "SELECT seq, chain_hash, status, reason FROM device_receipt"
    " WHERE device_id = %(device)s AND seq = ANY(%(seqs)s::integer[])"
)


def _pg_rows(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """Rows (named tuples) of a statement run on the driver's cursor, in the session's
    transaction: a push's busiest reads skip SQLAlchemy's statement and result machinery,
    as its writes do (about 80 microseconds a statement)."""
    raw = cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)
    return raw.cursor(row_factory=namedtuple_row).execute(sql, params).fetchall()  # type: ignore[arg-type]


def _known_chain(session: Session, device: Caller, seqs: list[int]) -> _Known:
    low, high = seqs[0] - 1, seqs[-1]  # and the receipt just before the batch
    ranged = high - low <= 2 * len(seqs)
    rows: Iterable[Any]
    if is_postgres(session):
        params = {"device": device.device_id, "low": low, "high": high, "seqs": [low, *seqs]}
        rows = _pg_rows(session, _PG_RECEIPTS_IN_RANGE if ranged else _PG_RECEIPTS_LISTED, params)
    elif ranged:
        rows = session.execute(
            _RECEIPTS_IN_RANGE, {"device": device.device_id, "low": low, "high": high}
        )
    else:
        rows = session.execute(_RECEIPTS_LISTED, {"device": device.device_id, "seqs": [low, *seqs]})
    wanted = {low, *seqs}
    receipts = {r.seq: r for r in rows if r.seq in wanted}
    hashes = {seq: r.chain_hash for seq, r in receipts.items()}
    hashes[0] = GENESIS_CHAIN_HASH
    hashes.setdefault(device.head_seq, device.head_hash)
    return _Known(receipts=receipts, hashes=hashes)


def _validate(item: PushItem) -> Incoming:
    incoming = Incoming(item, rid=str(item.record_id))
    if item.withheld == "purged":
        incoming.reason = NOT_PURGED_HERE  # until `_check_purged` finds the clinic's purge
        return incoming
    if item.withheld is not None:
        incoming.reason = WITHHELD_REASON
        return incoming
    if item.kind in SERVER_KINDS:
        incoming.reason = f"kind: {item.kind} records belong to the clinic and cannot be pushed"
        return incoming
    if item.kind not in DEVICE_KINDS:
        incoming.reason = "kind: unknown record kind"
        return incoming
    try:
        record = parse_record(item.kind, item.payload)
    except RecordInvalid as exc:
        incoming.reason = str(exc)[:1000]
        return incoming
    as_json, canonical = record.json_and_canonical()
    if record.id != item.record_id:
        incoming.reason = "record_id: does not match the record's id"
    elif hashlib.sha256(canonical).hexdigest() != item.content_hash:
        incoming.reason = "content_hash: does not match the record's content"
    else:
        assert isinstance(record, DeviceRecord)
        incoming.record, incoming.canonical = record, canonical.decode()
        incoming.visit_id, incoming.patient_id = as_json["visit_id"], as_json["patient_id"]
    return incoming


# The visits and patients a clinician ever had: current assignments and visits that left
# them (reassigned, moved), so work done before a change still lands. One statement.
# On PostgreSQL the ids go as two arrays: the statement's text never changes, so it is
# prepared once per connection (IN lists make new text, parsed and planned again, for
# every count of ids a batch happens to hold).
_REACH_SQL = """
    SELECT 'visit', id, patient_id FROM visit WHERE clinician_id = :who AND id IN :visits
    UNION SELECT 'visit', visit_id, patient_id FROM visit_exit
        WHERE clinician_id = :who AND visit_id IN :visits
    UNION SELECT 'patient', patient_id, patient_id FROM visit
        WHERE clinician_id = :who AND patient_id IN :patients
    UNION SELECT 'patient', patient_id, patient_id FROM visit_exit
        WHERE clinician_id = :who AND patient_id IN :patients
    """
_REACH = text(_REACH_SQL).bindparams(  # typed, so that an empty list still compares as text
    bindparam("visits", expanding=True, type_=String),
    bindparam("patients", expanding=True, type_=String),
)
_PG_REACH = (
    _REACH_SQL.replace(":who", "%(who)s")
    .replace("IN :visits", "= ANY(%(visits)s::text[])")
    .replace("IN :patients", "= ANY(%(patients)s::text[])")
)


def _check_reach(session: Session, clinician: str, fresh: list[Incoming]) -> None:
    """Set aside records about visits or patients the clinician never had (BOLA), about a
    visit of another patient, or claiming another author than the token's clinician.

    A wrong `recorded_by` is refused, not overwritten: the device's content hash and chain
    cover the record as written, so a corrected copy would no longer match them; the
    record stays for review as it came."""
    valid = [one for one in fresh if one.record is not None]
    if not valid:
        return
    visit_ids = {one.visit_id for one in valid if one.visit_id is not None}
    patient_ids = {one.patient_id for one in valid if one.patient_id is not None}
    params = {"who": clinician, "visits": sorted(visit_ids), "patients": sorted(patient_ids)}
    if is_postgres(session):
        reach = _pg_rows(session, _PG_REACH, params)
    else:
        reach = list(session.execute(_REACH, params).all())
    patient_of_visit = {rid: patient for kind, rid, patient in reach if kind == "visit"}
    mine_patients = {rid for kind, rid, _ in reach if kind == "patient"}
    outside = [
        one
        for one in valid
        if (one.visit_id is not None and one.visit_id not in patient_of_visit)
        or (one.patient_id is not None and one.patient_id not in mine_patients)
    ]
    granted = _under_grant(session, clinician, outside) if outside else set()
    for one in valid:
        assert one.record is not None
        if one.record.recorded_by != clinician:
            one.set_aside(NOT_YOUR_NAME)
        elif one.rid in granted:
            continue  # about a break-glass patient, recorded while the grant held
        elif one.visit_id is not None and one.visit_id not in patient_of_visit:
            one.set_aside(NOT_YOURS_VISIT)
        elif one.visit_id is not None and patient_of_visit[one.visit_id] != one.patient_id:
            one.set_aside(OTHER_PATIENTS_VISIT)
        elif one.patient_id is not None and one.patient_id not in mine_patients:
            one.set_aside(NOT_YOURS_PATIENT)


def _under_grant(session: Session, clinician: str, outside: list[Incoming]) -> set[str]:
    """Ids of the records outside the clinician's assignments that are about a patient of
    one of their break-glass grants (and, with a visit, about that patient's visit),
    recorded while the grant held. Only records that failed the assignment check get here:
    an ordinary push never looks at grants."""
    patients = sorted({one.patient_id for one in outside if one.patient_id is not None})
    grants = session.execute(
        select(
            col(BreakGlassGrant.patient_id),
            col(BreakGlassGrant.granted_at),
            col(BreakGlassGrant.expires_at),
        ).where(
            col(BreakGlassGrant.clinician) == clinician,
            col(BreakGlassGrant.patient_id).in_(patients),
        )
    ).all()
    if not grants:
        return set()
    visits = sorted({one.visit_id for one in outside if one.visit_id is not None})
    patient_of_visit = dict(
        session.execute(
            select(col(VisitRow.id), col(VisitRow.patient_id)).where(col(VisitRow.id).in_(visits))
        ).all()
    )
    found = set()
    for one in outside:
        assert one.record is not None
        at = one.record.recorded_at.timestamp()
        held = any(pid == one.patient_id and start <= at < end for pid, start, end in grants)
        theirs = one.visit_id is None or patient_of_visit.get(one.visit_id) == one.patient_id
        if held and theirs:
            found.add(one.rid)
    return found


def _check_purged(session: Session, clinician: str, fresh: list[Incoming]) -> None:
    """A purge marker stands for a record of this clinician's that the clinic purged (or
    still holds as sent); any other is set aside for review: a marker is never stored as a
    record, and never stands in for one the server does not account for."""
    markers = [one for one in fresh if one.item.withheld == "purged"]
    if markers:
        found = accounted_for(
            session, clinician, [(m.item.kind, m.rid, m.item.content_hash) for m in markers]
        )
        for one in markers:
            one.purged = (one.item.kind, one.rid) in found


def _store(
    session: Session,
    device: Caller,
    fresh: list[Incoming],
    results: dict[int, Outcome],
    now: float,
    advance: dict[str, Any] | None,
) -> PushSummary:
    """Store the new records, answer every fresh item with a receipt, and move the device's
    head on to `advance` (None: it stays)."""
    conn = session.connection()
    candidates: dict[str, Incoming] = {}
    for one in fresh:
        if one.record is not None:
            candidates.setdefault(one.rid, one)
    # What each item's answer will be when it does not hang on what is already stored: a
    # rejected item's, a purge marker's, and a candidate's if its row goes in (applied).
    known = {
        one.item.seq: _known_outcome(one)
        for one in fresh
        if one.record is None or candidates.get(one.rid) is one
    }
    rows = [_record_row(device, one, now) for one in candidates.values()]
    # Insert first and look up only what was already there (rare: a replay that lost its
    # receipts, a same-id conflict, or another worker storing the same id just now).
    if conn.dialect.name == "postgresql":
        # One statement: the records, the receipts known now and the head (see _PG_STORE).
        early = [
            _receipt_row(device, one, known[one.item.seq]) for one in fresh if one.item.seq in known
        ]
        inserted = _pg_store(conn, device, rows, early, now, advance)
        written = {
            one.item.seq
            for one in fresh
            if one.item.seq in known
            and (known[one.item.seq].status != "applied" or one.rid in inserted)
        }
    else:
        inserted = (
            set(_insert_ignore(conn, DeviceRecordRow, rows, DeviceRecordRow.id)) if rows else set()
        )
        if advance is not None:
            conn.execute(
                _ADVANCE_HEAD,
                {"device": device.device_id, "seq": advance["seq"], "hash": advance["chain_hash"]},
            )
        written = set()
    already = [rid for rid in candidates if rid not in inserted]
    existing: dict[str, str] = (
        dict(
            session.execute(
                select(col(DeviceRecordRow.id), col(DeviceRecordRow.content_hash)).where(
                    _among(col(DeviceRecordRow.id), already, conn)
                )
            ).all()
        )
        if already
        else {}
    )
    summary = PushSummary(results=[])
    claimed: dict[str, str] = {}
    reviews: list[dict] = []  # type: ignore[type-arg]
    for one in fresh:
        item, reason, rid = one.item, one.reason, one.rid
        if one.purged:  # purged here since it came (or still here as sent): store nothing
            status, reason = "duplicate", PURGED_HERE
        elif one.record is None:
            status = "rejected"
        elif rid in inserted and rid not in claimed:
            status, reason = "applied", None
            claimed[rid] = item.content_hash
            summary.applied_ids.append(rid)
        elif claimed.get(rid, existing.get(rid)) == item.content_hash:
            status, reason = "duplicate", None
        else:
            status, reason = (
                "conflict",
                "record_id: already stored with other content; kept for review",
            )
        if status in ("rejected", "conflict"):
            summary.set_aside_ids.append(rid)
            reviews.append(_review_row(device, item, status, reason or "", now))
        results[item.seq] = Outcome(item.seq, status, reason)
    if reviews:
        _insert_ignore(conn, ReviewItem, reviews)
    receipts = [
        _receipt_row(device, one, results[one.item.seq])
        for one in fresh
        if one.item.seq not in written
    ]
    if receipts:
        _insert_ignore(conn, Receipt, receipts)
    summary.results = [results[seq] for seq in sorted(results)]
    return summary


def _known_outcome(one: Incoming) -> Outcome:
    seq = one.item.seq
    if one.purged:
        return Outcome(seq, "duplicate", PURGED_HERE)
    if one.record is None:
        return Outcome(seq, "rejected", one.reason)
    return Outcome(seq, "applied", None)


def _record_row(device: Caller, one: Incoming, now: float) -> dict[str, Any]:
    return {
        "id": one.rid,
        "kind": one.item.kind,
        "device_id": device.device_id,
        "user_name": device.user,
        "patient_id": one.patient_id,
        "visit_id": one.visit_id,
        "seq": one.item.seq,
        "content_hash": one.item.content_hash,
        "payload": one.canonical,
        "received_at": now,
        "after_revocation": device.revoked,
    }


def _receipt_row(device: Caller, one: Incoming, outcome: Outcome) -> dict[str, Any]:
    return {
        "device_id": device.device_id,
        "seq": one.item.seq,
        "record_id": one.rid,
        "chain_hash": one.item.chain_hash,
        "status": outcome.status,
        "reason": outcome.reason,
    }


def plain_text(text: str, limit: int) -> str:
    """Text from a device, storable in any text column: control characters (NUL included)
    and lone surrogates are written as escapes, which no database refuses."""
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text[:limit]


def _review_row(device: Caller, item: PushItem, status: str, reason: str, now: float) -> dict:  # type: ignore[type-arg]
    return {
        "device_id": device.device_id,
        "user_name": device.user,
        "seq": item.seq,
        "kind": plain_text(item.kind, 40),
        "record_id": str(item.record_id),
        "status": status,
        "reason": plain_text(reason, 1000),
        "payload": canonical_text(item.payload),
        "received_at": now,
    }


def _starts_infusion(one: Incoming) -> bool:
    """A dose given, or a status saying the infusion began (or ended)."""
    if one.item.kind == "dose_admin":
        return one.record is not None
    return isinstance(one.record, StatusEvent) and one.record.status in crud.STARTED_STATUSES


def _flag_conflicts(
    session: Session,
    fresh: Iterable[Incoming],
    summary: PushSummary,
    now: float,
) -> None:
    """An infusion started on the road for a visit cancelled at the office: flag it."""
    applied = set(summary.applied_ids)
    started = sorted(
        {
            one.visit_id
            for one in fresh
            if one.visit_id is not None and _starts_infusion(one) and one.rid in applied
        }
    )
    if not started:
        return
    cancelled = (
        session.execute(
            select(col(VisitRow.id)).where(
                col(VisitRow.id).in_(started), col(VisitRow.status) == "cancelled"
            )
        )
        .scalars()
        .all()
    )
    for visit_id in sorted(cancelled):
        crud.flag_visit(session, visit_id, crud.FLAG_CANCELLED_AFTER_START, now)
