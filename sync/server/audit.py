"""The append-only, hash-chained audit log and its verifier.

Each event holds who, what, when, device and outcome, with ids only (never patient text).
Its hash covers its own fields and the previous event's hash, so changing, deleting,
reordering or inserting a row breaks the chain at that row. Appending is serialised (a
transaction-scoped advisory lock on PostgreSQL, the single writer on SQLite) and is the
last statement of a transaction, so the lock is held only for the commit.

Every writer of the clinic queues on that lock, so on PostgreSQL the locked part is one
network round trip plus the commit: the lock and an `INSERT ... SELECT` that reads the
chain's head and hashes the new row in SQL are sent together in a pipeline. They remain
two statements, so the insert's snapshot is taken after the lock is granted and always
sees the previous writer's committed event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlmodel import Session, col

if TYPE_CHECKING:
    import psycopg

from sync.server.db import is_postgres
from sync.server.models import AuditEvent

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x6661_7564  # "faud": one advisory lock for the audit chain


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the event's canonical JSON."""
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "device_id": event.device_id,
        "action": event.action,
        "outcome": event.outcome,
        "detail": event.detail,
    }


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    outcome: str,
    device_id: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
    commit: bool = False,
) -> AuditEvent:
    """Add one event at the end of the chain (call it last, just before commit).

    With `commit`, the transaction commits here: on PostgreSQL the COMMIT goes in the same
    round trip as the lock, so no writer waits while this process gets the CPU back.
    Nothing may be written in the session after it (the enclosing commit has nothing left).
    """
    event = AuditEvent(
        seq=0,
        at=(now or datetime.now(UTC)).isoformat(timespec="microseconds"),
        actor=actor[:64],
        device_id=device_id,
        action=action,
        outcome=outcome,
        detail=json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
        prev_hash="",
        hash="",
    )
    if is_postgres(session):
        return _append_pg(session, event, commit)
    last = session.execute(
        select(col(AuditEvent.seq), col(AuditEvent.hash))
        .order_by(col(AuditEvent.seq).desc())
        .limit(1)
    ).first()
    event.seq, event.prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    event.hash = event_hash(event.prev_hash, _fields(event))
    session.add(event)
    session.flush()
    if commit:
        session.commit()
    return event


# The chain head is read after the lock is granted (a statement of its own); the hash is
# `event_hash` computed in SQL: "seq" sorts last among the fields, so the canonical JSON
# is a prefix, the number and "}" (ASCII only: json.dumps escapes the rest).
_PG_LOCK = "SELECT pg_advisory_xact_lock(%(key)s)"
_PG_INSERT = """
INSERT INTO audit_event (seq, at, actor, device_id, action, outcome, detail, prev_hash, hash)
SELECT head.seq, %(at)s, %(actor)s, %(device_id)s, %(action)s, %(outcome)s, %(detail)s,
       head.prev, encode(sha256(convert_to(
           head.prev || %(prefix)s || head.seq::text || '}', 'UTF8')), 'hex')
FROM (
    SELECT COALESCE(last.seq, 0) + 1 AS seq, COALESCE(last.hash, %(genesis)s) AS prev
    FROM (SELECT 1) AS one
    LEFT JOIN (SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1) AS last ON true
) AS head
RETURNING seq, prev_hash, hash
"""


def _append_pg(session: Session, event: AuditEvent, commit: bool) -> AuditEvent:
    session.flush()  # the transaction's own writes go first, outside the locked part
    body = json.dumps({**_fields(event), "seq": 0}, sort_keys=True, separators=(",", ":"))
    assert body.endswith(',"seq":0}'), body  # "seq" must sort last for the SQL hash
    params = {
        "key": AUDIT_LOCK_KEY,
        "at": event.at,
        "actor": event.actor,
        "device_id": event.device_id,
        "action": event.action,
        "outcome": event.outcome,
        "detail": event.detail,
        "prefix": body[: -len("0}")],
        "genesis": GENESIS,
    }
    raw = cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)
    with raw.pipeline():
        raw.execute(_PG_LOCK, params)
        inserted = raw.execute(_PG_INSERT, params)
        if commit:  # queued behind the insert: lock, insert and commit in one round trip
            raw.commit()
    row = inserted.fetchone()
    assert row is not None
    if commit:
        session.commit()  # the session's own bookkeeping; the database has committed
    event.seq, event.prev_hash, event.hash = int(row[0]), str(row[1]), str(row[2])
    return event


@dataclass(frozen=True)
class AuditProblem:
    """The first entry where the chain breaks, and how."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


def verify_events(events: Iterable[AuditEvent]) -> tuple[int, AuditProblem | None]:
    """Walk the chain in stored order; return (entries checked, first problem or None)."""
    expected_seq, prev, count = 1, GENESIS, 0
    for event in events:
        count += 1
        if event.seq > expected_seq:
            return count, AuditProblem(expected_seq, f"missing (the next entry is {event.seq})")
        if event.seq < expected_seq:
            return count, AuditProblem(event.seq, "duplicated or out of order")
        if event.prev_hash != prev:
            return count, AuditProblem(event.seq, "does not follow the entry before it")
        if event.hash != event_hash(prev, _fields(event)):
            return count, AuditProblem(event.seq, "its content was changed")
        prev, expected_seq = event.hash, expected_seq + 1
    return count, None


def verify(session: Session) -> tuple[int, AuditProblem | None]:
    """Verify the whole stored chain, streaming it in `seq` order."""
    rows = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)  # type: ignore[arg-type]
    ).scalars()
    return verify_events(rows)
