"""The append-only, hash-chained audit log and its verifier.

Each event holds who, what, when, device and outcome, with ids only (never patient text).
Its hash covers its own fields and the previous event's hash, so changing, deleting,
reordering or inserting a row breaks the chain at that row. Appending is serialised (a
transaction-scoped advisory lock on PostgreSQL, the single writer on SQLite) and is the
last statement of a transaction, so the lock is held only for the commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session, col

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
) -> AuditEvent:
    """Add one event at the end of the chain (call it last, just before commit)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    last = session.execute(
        select(col(AuditEvent.seq), col(AuditEvent.hash))
        .order_by(col(AuditEvent.seq).desc())
        .limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    event = AuditEvent(
        seq=seq,
        at=(now or datetime.now(UTC)).isoformat(timespec="microseconds"),
        actor=actor[:64],
        device_id=device_id,
        action=action,
        outcome=outcome,
        detail=json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
        prev_hash=prev,
        hash="",
    )
    event.hash = event_hash(prev, _fields(event))
    session.add(event)
    session.flush()
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
