"""Receiving a device's outbox: every record stored once, bad ones set aside, never replaced.

For each item the answer is `applied`, `duplicate` (already here, same content),
`conflict` (same id, other content: kept for review, the stored one stays) or `rejected`
(invalid, a server-owned kind, or outside the clinician's reach: kept for review). One bad
record never holds up the rest. Each device seq gets a receipt, so a replayed batch (a
lost reply, a duplicated request) gets the same answers and changes nothing.

The device's chain (`sync.outbox.next_chain_hash`) is checked against what the server
already holds for that device: a store restored from an older copy is behind or forks
from it, and is refused with `StoreRolledBack`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ARRAY, Connection, any_, bindparam, select, text, union, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from sync.outbox import GENESIS_CHAIN_HASH, next_chain_hash
from sync.records import DEVICE_KINDS, SERVER_KINDS, DeviceRecord, RecordInvalid, parse_record
from sync.server import crud
from sync.server.errors import Invalid, StoreRolledBack
from sync.server.models import (
    AppUser,
    Device,
    DeviceRecordRow,
    Receipt,
    ReviewItem,
    VisitExit,
    VisitRow,
)
from sync.server.schemas import PushItem, PushRequest, PushResult

NOT_YOURS_VISIT = "visit_id: not among your assignments"
NOT_YOURS_PATIENT = "patient_id: not among your patients"


@dataclass
class PushSummary:
    """The per-item results and what the audit event needs (ids only)."""

    results: list[PushResult]
    applied_ids: list[str] = field(default_factory=list)
    set_aside_ids: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many items got each status."""
        out: dict[str, int] = {}
        for result in self.results:
            out[result.status] = out.get(result.status, 0) + 1
        return out


def _insert_ignore(conn: Connection, table: type, rows: list[dict], returning=None):  # type: ignore[no-untyped-def,type-arg]
    if conn.dialect.name == "postgresql":
        return _pg_insert_ignore(conn, table, rows, returning)
    statement = sqlite_insert(table).on_conflict_do_nothing()
    if returning is not None:
        return conn.execute(statement.returning(returning), rows).scalars().all()
    conn.execute(statement, rows)
    return []


def _pg_insert_ignore(conn: Connection, table: type, rows: list[dict], returning=None):  # type: ignore[no-untyped-def,type-arg]
    """One short statement over column arrays (`unnest`), not one VALUES row per record.

    A multi-row VALUES statement with thousands of parameters is parsed afresh by the
    driver on every batch; this one is the same text each time, so it is prepared once.
    """
    columns: Any = sa_inspect(table).columns
    names = list(rows[0])
    arrays = ", ".join(
        f"CAST(:c{i} AS {columns[name].type.compile(dialect=conn.dialect)}[])"
        for i, name in enumerate(names)
    )
    sql = (
        f"INSERT INTO {table.__tablename__} ({', '.join(names)}) "  # type: ignore[attr-defined]
        f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"
    )
    params = {f"c{i}": [row[name] for row in rows] for i, name in enumerate(names)}
    if returning is None:
        conn.execute(text(sql), params)
        return []
    return conn.execute(text(f"{sql} RETURNING {returning.key}"), params).scalars().all()


def _among(column, values: list, conn: Connection):  # type: ignore[no-untyped-def,type-arg]
    """`column IN values`; one array parameter on PostgreSQL (a statement prepared once)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def check_head(device: Device, seq: int, chain_hash: str) -> None:
    """Refuse a device whose chain head is behind, or forks from, what the server holds."""
    if seq < device.head_seq or (seq == device.head_seq and chain_hash != device.head_hash):
        raise StoreRolledBack(
            f"device head {seq} is behind or differs from the server's {device.head_seq}"
        )


def push(
    session: Session, device: Device, user: AppUser, request: PushRequest, now: float
) -> PushSummary:
    """Store a batch; raises `StoreRolledBack` or `Invalid` for the whole batch."""
    check_head(device, request.head.seq, request.head.chain_hash)
    items = sorted(request.items, key=lambda item: item.seq)
    seqs = [item.seq for item in items]
    if len(set(seqs)) != len(seqs):
        raise Invalid("items: each seq may appear once")
    if not items:
        return PushSummary(results=[])
    known = _known_chain(session, device, seqs)
    results: dict[int, PushResult] = {}
    fresh: list[tuple[PushItem, DeviceRecord | None, str | None]] = []
    for item in items:
        receipt = known.receipts.get(item.seq)
        if receipt is not None:
            if receipt.chain_hash != item.chain_hash:
                raise StoreRolledBack(f"device seq {item.seq} differs from what it sent before")
            status = "duplicate" if receipt.status in ("applied", "duplicate") else receipt.status
            results[item.seq] = PushResult(seq=item.seq, status=status, reason=receipt.reason)  # type: ignore[arg-type]
            continue
        prev = known.hashes.get(item.seq - 1)
        if prev is not None and next_chain_hash(prev, item.content_hash) != item.chain_hash:
            raise StoreRolledBack(f"device chain breaks at seq {item.seq}")
        known.hashes[item.seq] = item.chain_hash
        record, reason = _validate(item)
        fresh.append((item, record, reason))
    _check_reach(session, user.name, fresh)
    summary = _store(session, device, user, fresh, results, now)
    top = items[-1]
    if top.seq > device.head_seq:
        session.execute(
            update(Device)
            .where(col(Device.id) == device.id, col(Device.head_seq) < top.seq)
            .values(head_seq=top.seq, head_hash=top.chain_hash)
        )
    _flag_conflicts(session, fresh, summary, now)
    return summary


@dataclass
class _Known:
    receipts: dict[int, Any]  # rows of (seq, chain_hash, status, reason)
    hashes: dict[int, str]


def _known_chain(session: Session, device: Device, seqs: list[int]) -> _Known:
    wanted = [*seqs, seqs[0] - 1]
    conn = session.connection()
    receipts = {
        r.seq: r
        for r in session.execute(
            select(
                col(Receipt.seq), col(Receipt.chain_hash), col(Receipt.status), col(Receipt.reason)
            ).where(col(Receipt.device_id) == device.id, _among(col(Receipt.seq), wanted, conn))
        )
    }
    hashes = {seq: r.chain_hash for seq, r in receipts.items()}
    hashes[0] = GENESIS_CHAIN_HASH
    hashes.setdefault(device.head_seq, device.head_hash)
    return _Known(receipts=receipts, hashes=hashes)


def _validate(item: PushItem) -> tuple[DeviceRecord | None, str | None]:
    if item.kind in SERVER_KINDS:
        return None, f"kind: {item.kind} records belong to the clinic and cannot be pushed"
    if item.kind not in DEVICE_KINDS:
        return None, "kind: unknown record kind"
    try:
        record = parse_record(item.kind, item.payload)
    except RecordInvalid as exc:
        return None, str(exc)[:1000]
    if record.id != item.record_id:
        return None, "record_id: does not match the record's id"
    if record.content_hash() != item.content_hash:
        return None, "content_hash: does not match the record's content"
    assert isinstance(record, DeviceRecord)
    return record, None


def _check_reach(
    session: Session, clinician: str, fresh: list[tuple[PushItem, DeviceRecord | None, str | None]]
) -> None:
    """Set aside records about visits or patients the clinician never had (BOLA)."""
    valid = [
        (i, rec) for i, (_, rec, reason) in enumerate(fresh) if rec is not None and reason is None
    ]
    if not valid:
        return
    visit_ids = {str(rec.visit_id) for _, rec in valid if rec.visit_id is not None}
    patient_ids = {str(rec.patient_id) for _, rec in valid if rec.patient_id is not None}
    mine_visits = (
        set(
            session.execute(
                union(
                    select(col(VisitRow.id)).where(
                        col(VisitRow.clinician_id) == clinician, col(VisitRow.id).in_(visit_ids)
                    ),
                    select(col(VisitExit.visit_id)).where(
                        col(VisitExit.clinician_id) == clinician,
                        col(VisitExit.visit_id).in_(visit_ids),
                    ),
                )
            ).scalars()
        )
        if visit_ids
        else set()
    )
    mine_patients = set(
        session.execute(
            union(
                select(col(VisitRow.patient_id)).where(
                    col(VisitRow.clinician_id) == clinician,
                    col(VisitRow.patient_id).in_(patient_ids),
                ),
                select(col(VisitExit.patient_id)).where(
                    col(VisitExit.clinician_id) == clinician,
                    col(VisitExit.patient_id).in_(patient_ids),
                ),
            )
        ).scalars()
    )
    for index, rec in valid:
        item = fresh[index][0]
        if rec.visit_id is not None and str(rec.visit_id) not in mine_visits:
            fresh[index] = (item, None, NOT_YOURS_VISIT)
        elif rec.patient_id is not None and str(rec.patient_id) not in mine_patients:
            fresh[index] = (item, None, NOT_YOURS_PATIENT)


def _store(
    session: Session,
    device: Device,
    user: AppUser,
    fresh: list[tuple[PushItem, DeviceRecord | None, str | None]],
    results: dict[int, PushResult],
    now: float,
) -> PushSummary:
    conn = session.connection()
    candidates: dict[str, tuple[PushItem, DeviceRecord]] = {}
    for item, rec, _ in fresh:
        if rec is not None:
            candidates.setdefault(str(item.record_id), (item, rec))
    # Insert first and look up only what was already there (rare: a replay that lost its
    # receipts, a same-id conflict, or another worker storing the same id just now).
    to_insert = [
        {
            "id": rid,
            "kind": item.kind,
            "device_id": device.id,
            "user_name": user.name,
            "patient_id": str(rec.patient_id) if rec.patient_id else None,
            "visit_id": str(rec.visit_id) if rec.visit_id else None,
            "seq": item.seq,
            "content_hash": item.content_hash,
            "payload": json.dumps(item.payload, sort_keys=True, separators=(",", ":")),
            "received_at": now,
            "after_revocation": device.revoked_at is not None,
        }
        for rid, (item, rec) in candidates.items()
    ]
    inserted = (
        set(_insert_ignore(conn, DeviceRecordRow, to_insert, DeviceRecordRow.id))
        if to_insert
        else set()
    )
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
    for item, rec, reason in fresh:
        rid = str(item.record_id)
        if rec is None:
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
            reviews.append(_review_row(device, user, item, status, reason or "", now))
        results[item.seq] = PushResult(seq=item.seq, status=status, reason=reason)  # type: ignore[arg-type]
    if reviews:
        _insert_ignore(conn, ReviewItem, reviews)
    receipts = [
        {
            "device_id": device.id,
            "seq": item.seq,
            "record_id": str(item.record_id),
            "chain_hash": item.chain_hash,
            "status": results[item.seq].status,
            "reason": results[item.seq].reason,
        }
        for item, _, _ in fresh
    ]
    if receipts:
        _insert_ignore(conn, Receipt, receipts)
    summary.results = [results[seq] for seq in sorted(results)]
    return summary


def _review_row(
    device: Device, user: AppUser, item: PushItem, status: str, reason: str, now: float
) -> dict:  # type: ignore[type-arg]
    return {
        "device_id": device.id,
        "user_name": user.name,
        "seq": item.seq,
        "kind": item.kind[:40],
        "record_id": str(item.record_id),
        "status": status,
        "reason": reason[:1000],
        "payload": json.dumps(item.payload, sort_keys=True, separators=(",", ":")),
        "received_at": now,
    }


def _flag_conflicts(
    session: Session,
    fresh: Iterable[tuple[PushItem, DeviceRecord | None, str | None]],
    summary: PushSummary,
    now: float,
) -> None:
    """An infusion started on the road for a visit cancelled at the office: flag it."""
    applied = set(summary.applied_ids)
    started = sorted(
        {
            str(rec.visit_id)
            for item, rec, _ in fresh
            if rec is not None
            and rec.visit_id is not None
            and str(item.record_id) in applied
            and (item.kind == "dose_admin" or getattr(rec, "status", None) in crud.STARTED_STATUSES)
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
