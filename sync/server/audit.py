"""The append-only, hash-chained audit log and its verifier.

Each event holds who, what, when, device and outcome, with ids only (never patient text).
Its hash covers its own fields and the previous event's hash, so changing, deleting,
reordering or inserting a row breaks the chain at that row. Appending is serialised (a
transaction-scoped advisory lock on PostgreSQL, the single writer on SQLite) and is the
last statement of a transaction, so the lock is held only for the commit.

Every writer of the clinic queues on that lock, so on PostgreSQL the locked part is one
network round trip plus the commit: one statement, the function `audit_append` (migration
0014), takes the lock, reads the chain's head and inserts the new row hashed in SQL, and
the commit is sent with it in a pipeline. A PL/pgSQL function takes a fresh snapshot for
each statement it runs, so the head is read after the lock is granted and always sees the
previous writer's committed event.

Deleting the newest rows leaves a shorter chain that is still valid, so the chain alone
cannot show it. An anchor closes that gap: a line `audit-anchor v1 <seq> <hash> <at>`
naming the head at some moment, kept where the database admin cannot rewrite it. The
verifier then also checks that each anchored entry still exists with exactly that hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlmodel import Session, col

if TYPE_CHECKING:
    import psycopg

from sync.canonical import canonical_text
from sync.server.db import is_postgres
from sync.server.models import AuditEvent

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x6661_7564  # "faud": the audit chain's advisory lock (taken by audit_append)


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the event's canonical JSON."""
    body = canonical_text(fields)
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
        detail=canonical_text(detail or {}),
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


# The lock, the chain's head and the insert (`event_hash` computed in SQL): "seq" sorts
# last among the fields, so the canonical JSON is a prefix, the number and "}" (ASCII
# only: json.dumps escapes the rest). The function takes AUDIT_LOCK_KEY itself.
_PG_APPEND = """
SELECT new_seq, new_prev, new_hash FROM audit_append(
    %(at)s, %(actor)s, %(device_id)s, %(action)s, %(outcome)s, %(detail)s, %(prefix)s)
"""


def _append_pg(session: Session, event: AuditEvent, commit: bool) -> AuditEvent:
    session.flush()  # the transaction's own writes go first, outside the locked part
    body = canonical_text({**_fields(event), "seq": 0})
    assert body.endswith(',"seq":0}'), body  # "seq" must sort last for the SQL hash
    # the event's own fields (its seq is the database's to give) and the hash input
    params = {**_fields(event), "prefix": body[: -len("0}")]}
    raw = cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)
    if commit:  # the commit queued behind the append: one round trip
        with raw.pipeline():
            appended = raw.execute(_PG_APPEND, params)
            # Sent as a statement: the driver's commit() would wait for its own answer
            # inside the pipeline, and the pipeline's end would wait once more.
            raw.execute("COMMIT", prepare=False)
    else:
        appended = raw.execute(_PG_APPEND, params)
    row = appended.fetchone()
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


ANCHOR_TAG = "audit-anchor"
ANCHOR_VERSION = "v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AnchorInvalid(ValueError):
    """A line that is not a well-formed anchor; `str()` names its line number."""

    def __init__(self, line_number: int, reason: str) -> None:
        self.line_number = line_number
        self.reason = reason
        super().__init__(f"line {line_number}: {reason}")


@dataclass(frozen=True)
class AuditAnchor:
    """The chain's head at one moment: entry `seq` had hash `hash`; `at` is its time.

    Only `seq` and `hash` are checked (the hash covers `at`); `at` tells people which
    anchor it is.
    """

    seq: int
    hash: str
    at: str

    @classmethod
    def of(cls, event: AuditEvent) -> AuditAnchor:
        """The anchor naming this stored event."""
        return cls(event.seq, event.hash, event.at)

    @property
    def when(self) -> str:
        """`at` to the minute in UTC, for messages."""
        at = datetime.fromisoformat(self.at)
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        return at.strftime("%Y-%m-%dT%H:%MZ")

    def __str__(self) -> str:
        return f"{ANCHOR_TAG} {ANCHOR_VERSION} {self.seq} {self.hash} {self.at}"


def parse_anchor(line: str, line_number: int = 1) -> AuditAnchor:
    """One anchor line as `str(AuditAnchor)` writes it; `AnchorInvalid` otherwise."""
    parts = line.split()
    if len(parts) < 2 or parts[0] != ANCHOR_TAG:
        raise AnchorInvalid(line_number, f"does not start with '{ANCHOR_TAG} {ANCHOR_VERSION}'")
    if parts[1] != ANCHOR_VERSION:
        raise AnchorInvalid(line_number, f"anchor version {parts[1]!r} is not supported")
    if len(parts) != 5:
        raise AnchorInvalid(line_number, f"expected 5 fields, found {len(parts)}")
    _, _, seq, hash_, at = parts
    if not seq.isascii() or not seq.isdigit() or int(seq) < 1:
        raise AnchorInvalid(line_number, f"entry number {seq!r} is not a positive integer")
    if not _HEX64.fullmatch(hash_):
        raise AnchorInvalid(line_number, "the hash is not 64 lowercase hex digits")
    try:
        datetime.fromisoformat(at)
    except ValueError:
        raise AnchorInvalid(line_number, f"time {at!r} is not an ISO 8601 time") from None
    return AuditAnchor(int(seq), hash_, at)


def parse_anchors(text: str) -> list[AuditAnchor]:
    """Every anchor in an anchor log; blank lines and lines starting with '#' are skipped."""
    return [
        parse_anchor(line, number)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def verify_events(
    events: Iterable[AuditEvent], anchors: Iterable[AuditAnchor] = ()
) -> tuple[int, AuditProblem | None]:
    """Walk the chain in stored order; return (entries checked, first problem or None).

    Each anchor is checked as the walk reaches its entry, after the chain checks of that
    entry; anchors beyond the last entry mean the newest entries were deleted.
    """
    pending = sorted(anchors, key=lambda anchor: anchor.seq)
    expected_seq, prev, count, next_anchor = 1, GENESIS, 0, 0
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
        while next_anchor < len(pending) and pending[next_anchor].seq == event.seq:
            anchor = pending[next_anchor]
            if anchor.hash != event.hash:
                # The chain is valid, so it was recomputed: this entry or one before it
                # was changed, deleted or inserted since the anchor was taken.
                return count, AuditProblem(
                    event.seq,
                    f"does not match the anchor taken {anchor.when}: the log was rewritten "
                    "at or before this entry",
                )
            next_anchor += 1
        prev, expected_seq = event.hash, expected_seq + 1
    if next_anchor < len(pending):
        anchor, last = pending[next_anchor], expected_seq - 1
        cut = f"the log was cut after {last}" if last else "the log is empty"
        return count, AuditProblem(anchor.seq, f"missing: {cut} (anchor from {anchor.when})")
    return count, None


def verify(
    session: Session, anchors: Iterable[AuditAnchor] = ()
) -> tuple[int, AuditProblem | None]:
    """Verify the whole stored chain, streaming it in `seq` order, and any anchors."""
    rows = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)  # type: ignore[arg-type]
    ).scalars()
    return verify_events(rows, anchors)
