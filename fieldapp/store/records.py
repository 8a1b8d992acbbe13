"""Records in the store: append-only device records with their outbox entry, server records
by version, and the queries the app needs.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from fieldapp.errors import RecordImmutable, StoreError
from fieldapp.store.core import StoreCore, guarded
from fieldapp.store.crypto import RecordCipher
from fieldapp.store.purged import LIVE, TOMBSTONE_VERSION, tombstone_hash
from sync.outbox import GENESIS_CHAIN_HASH, next_chain_hash
from sync.records import DEVICE_KINDS, SERVER_KINDS, PatientSummary, Record, Visit

_ROW = "SELECT kind, id, version, nonce, ct FROM records"


@dataclass(frozen=True)
class RecordFailure:
    """One record that did not verify: kind, id and why (no content)."""

    kind: str
    record_id: str
    problem: str


@dataclass
class VerifyReport:
    """What `verify()` found: records read, each failure, and the outbox chain's state."""

    records_ok: int = 0
    failures: list[RecordFailure] = field(default_factory=list)
    drafts_ok: int = 0
    purged: int = 0
    chain_ok: bool = True
    chain_problem: str | None = None
    integrity_ok: bool = True
    outbox_problems: list[str] = field(default_factory=list)  # states the server never backed
    clinic_problems: list[str] = field(default_factory=list)  # rows off the clinic's manifest

    @property
    def ok(self) -> bool:
        """True when everything read and every check passed."""
        return (
            not self.failures
            and self.chain_ok
            and self.integrity_ok
            and not self.outbox_problems
            and not self.clinic_problems
        )


def _sort_time(record: Record) -> datetime:
    """When a record happened, for history order (naive times read as UTC-less)."""
    moment: Any = getattr(record, "window_start", None) or getattr(record, "recorded_at", None)
    if moment is None:
        return datetime.min
    return moment.replace(tzinfo=None) if isinstance(moment, datetime) else moment


def _route_key(visit: Visit) -> tuple[Any, ...]:
    start = visit.window_start.replace(tzinfo=None)
    eta = visit.eta.replace(tzinfo=None) if visit.eta else datetime.max
    order = visit.route_order if visit.route_order is not None else 10**6
    return (order, eta, start, str(visit.id))


class RecordsMixin(StoreCore):
    """Saving and reading records."""

    # -- writing -----------------------------------------------------------------------

    def save(self, record: Record) -> int:
        """Store one device record and its outbox entry in one commit; returns its seq."""
        return self.save_many([record])[0]

    @guarded
    def save_many(self, records: Sequence[Record]) -> list[int]:
        """Store device records and their outbox entries in one commit, in order."""
        cipher = self._require_unlocked()
        with self._write() as conn:
            return self._append(conn, cipher, records)

    def _append(
        self, conn: sqlite3.Connection, cipher: RecordCipher, records: Iterable[Record]
    ) -> list[int]:
        seq, chain = self._head(conn)
        seqs = []
        for record in records:
            self._check_appendable(record)
            plaintext = record.canonical_json()
            # Content hash = sha256(canonical JSON): the plaintext we encrypt anyway.
            chain = next_chain_hash(chain, hashlib.sha256(plaintext).hexdigest())
            seq += 1
            rid = str(record.id)
            nonce, ct = self._seal(cipher, plaintext, self._record_aad(record.KIND, rid, 1))
            patient_ix, day_ix, visit_ix = self._blind_indexes(cipher, record)
            try:
                conn.execute(
                    "INSERT INTO records (kind, id, version, owner, seq, patient_ix, day_ix,"
                    " visit_ix, nonce, ct) VALUES (?, ?, 1, 'device', ?, ?, ?, ?, ?, ?)",
                    (record.KIND, rid, seq, patient_ix, day_ix, visit_ix, nonce, ct),
                )
            except sqlite3.IntegrityError:
                raise RecordImmutable(
                    f"Record {record.KIND} {rid} is already stored and cannot change: clinical "
                    "records are append-only (add an addendum instead)."
                ) from None
            conn.execute(
                "INSERT INTO outbox VALUES (?, ?, ?, ?, 'pending')", (seq, record.KIND, rid, chain)
            )
            seqs.append(seq)
        return seqs

    @staticmethod
    def _check_appendable(record: Record) -> None:
        if record.KIND in SERVER_KINDS:
            raise StoreError(
                f"A {record.KIND} record comes from the clinic server; the device never saves one."
            )
        if record.KIND not in DEVICE_KINDS:
            raise StoreError(f"Unknown record kind {record.KIND!r}.")
        if record.KIND == "note" and getattr(record, "status", None) != "signed":
            raise StoreError(
                "A draft note stays in drafts (save_draft) until it is signed (sign_note)."
            )

    @staticmethod
    def _head(conn: sqlite3.Connection) -> tuple[int, str]:
        row = conn.execute(
            "SELECT seq, chain_hash FROM outbox ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_CHAIN_HASH)

    @guarded
    def put_server_records(self, records: Sequence[Record]) -> int:
        """Store server-owned records (newer version wins); returns how many changed."""
        cipher = self._require_unlocked()
        with self._write() as conn:
            return sum(self._upsert_server(conn, cipher, record) for record in records)

    def _upsert_server(
        self, conn: sqlite3.Connection, cipher: RecordCipher, record: Record
    ) -> bool:
        if record.KIND not in SERVER_KINDS:
            return False  # device records are never overwritten from outside
        rid = str(record.id)
        version: int = getattr(record, "version", 1)
        row = conn.execute(
            "SELECT version FROM records WHERE kind = ? AND id = ?", (record.KIND, rid)
        ).fetchone()
        stale = self._unmark_stale(conn, record.KIND, rid)
        if row is not None and row[0] >= version and not stale:
            return False
        aad = self._record_aad(record.KIND, rid, version)
        nonce, ct = self._seal(cipher, record.canonical_json(), aad)
        patient_ix, day_ix, visit_ix = self._blind_indexes(cipher, record)
        conn.execute(
            "INSERT INTO records (kind, id, version, owner, seq, patient_ix, day_ix, visit_ix,"
            " nonce, ct) VALUES (?, ?, ?, 'server', NULL, ?, ?, ?, ?, ?)"
            " ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version,"
            " patient_ix = excluded.patient_ix, day_ix = excluded.day_ix,"
            " visit_ix = excluded.visit_ix, nonce = excluded.nonce, ct = excluded.ct",
            (record.KIND, rid, version, patient_ix, day_ix, visit_ix, nonce, ct),
        )
        return True

    @staticmethod
    def stale_key(kind: str, record_id: str) -> str:
        """The sync_state key marking a row the clinic's manifest lists at another version:
        the next copy from the server replaces it, whatever the version numbers say."""
        return f"stale:{kind}:{record_id}"

    def _unmark_stale(self, conn: sqlite3.Connection, kind: str, rid: str) -> bool:
        """True (and the mark gone) if the row was marked stale."""
        key = self.stale_key(kind, rid)
        return conn.execute("DELETE FROM sync_state WHERE key = ?", (key,)).rowcount > 0

    # -- reading -----------------------------------------------------------------------

    def _rows(self, where: str = "", params: tuple[Any, ...] = ()) -> list[Any]:
        return self._open_db().query(f"{_ROW} {where}", params)

    @guarded
    def get(self, kind: str, record_id: UUID | str) -> Record | None:
        """One record by kind and id, or None."""
        cipher = self._require_unlocked()
        rows = self._rows(f"WHERE kind = ? AND id = ? AND {LIVE}", (kind, str(record_id)))
        return self._open_record(cipher, *rows[0]) if rows else None

    def patient(self, patient_id: UUID | str) -> PatientSummary | None:
        """A patient's summary, or None."""
        record = self.get("patient", patient_id)
        return record if isinstance(record, PatientSummary) else None

    @guarded
    def visits_for_day(self, day: date) -> list[Visit]:
        """The visits scheduled on `day`, in route order (route_order, then eta, then window)."""
        cipher = self._require_unlocked()
        ix = cipher.blind("day", day.isoformat())
        rows = self._rows("WHERE kind = 'visit' AND day_ix = ?", (ix,))
        visits = [self._open_record(cipher, *row) for row in rows]
        return sorted((v for v in visits if isinstance(v, Visit)), key=_route_key)

    @guarded
    def records_of_kind(self, kind: str) -> list[Record]:
        """Every record of one kind (the kind is readable, so no other row is decrypted)."""
        cipher = self._require_unlocked()
        rows = self._open_db().query(
            f"SELECT kind, id, version, nonce, ct FROM records WHERE kind = ? AND {LIVE}"
            " ORDER BY seq, id",
            (kind,),
        )
        return [self._open_record(cipher, *row) for row in rows]

    @guarded
    def newest_of_kind(self, kind: str, stop: Callable[[Record], bool]) -> list[Record]:
        """Records of one kind, newest first (by seq), decrypted one at a time up to the
        first that `stop` accepts (not included): a question about today opens today's
        records, not five years of them."""
        cipher = self._require_unlocked()
        found: list[Record] = []
        page = 8  # rows read at a time, growing: most questions end in the first page
        while True:
            rows = self._open_db().query(
                f"SELECT kind, id, version, nonce, ct FROM records WHERE kind = ? AND {LIVE}"
                " ORDER BY seq DESC, id DESC LIMIT ? OFFSET ?",
                (kind, page, len(found)),
            )
            for row in rows:
                record = self._open_record(cipher, *row)
                if stop(record):
                    return found
                found.append(record)
            if len(rows) < page:
                return found
            page *= 4

    @guarded
    def visit_records(self, visit_id: UUID | str) -> list[Record]:
        """Every record about one visit (the visit itself first), by time and sequence."""
        cipher = self._require_unlocked()
        ix = cipher.blind("visit", str(visit_id))
        rows = self._open_db().query(
            "SELECT kind, id, version, nonce, ct, coalesce(seq, 0) FROM records WHERE visit_ix = ?",
            (ix,),
        )
        items = [(self._open_record(cipher, *row[:5]), row[5]) for row in rows]
        items.sort(key=lambda item: (item[0].KIND != "visit", _sort_time(item[0]), item[1]))
        return [record for record, _ in items]

    @guarded
    def patient_history(self, patient_id: UUID | str) -> list[Record]:
        """Every record about one patient: the summary first, then by time and sequence."""
        cipher = self._require_unlocked()
        ix = cipher.blind("patient", str(patient_id))
        rows = self._open_db().query(
            "SELECT kind, id, version, nonce, ct, coalesce(seq, 0) FROM records"
            " WHERE patient_ix = ?",
            (ix,),
        )
        items = [(self._open_record(cipher, *row[:5]), row[5]) for row in rows]
        items.sort(key=lambda item: (item[0].KIND != "patient", _sort_time(item[0]), item[1]))
        return [record for record, _ in items]

    def iter_records(self) -> Iterator[Record]:
        """Every record in storage order; `StoreTampered` at the first that fails."""
        yield from self.load_all()

    @guarded
    def load_all(self) -> list[Record]:
        """Every record in storage order, decrypted; `StoreTampered` at the first that fails."""
        cipher = self._require_unlocked()
        rows = self._rows(f"WHERE {LIVE} ORDER BY rowid")
        return [self._open_record(cipher, *row) for row in rows]

    @guarded
    def counts(self) -> dict[str, int]:
        """How many records of each kind (readable metadata: no key needed)."""
        rows = self._open_db().query(
            f"SELECT kind, count(*) FROM records WHERE {LIVE} GROUP BY kind"
        )
        return {kind: n for kind, n in rows}

    @guarded
    def verify(self) -> VerifyReport:
        """Decrypt everything, re-check the outbox chain; names each record that fails."""
        cipher = self._require_unlocked()
        db = self._open_db()
        report = VerifyReport(integrity_ok=db.integrity_ok())
        hashes: dict[tuple[str, str], str] = {}
        for kind, rid, version, nonce, ct in self._rows("ORDER BY rowid"):
            try:
                if version == TOMBSTONE_VERSION:  # purged at the clinic: only its hash stays
                    hashes[(kind, rid)] = tombstone_hash(self, cipher, kind, rid, nonce, ct)
                    report.purged += 1
                    continue
                record = self._open_record(cipher, kind, rid, version, nonce, ct)
            except StoreError as exc:
                report.failures.append(RecordFailure(kind, rid, str(exc)))
                continue
            report.records_ok += 1
            hashes[(kind, rid)] = record.content_hash()
        report.drafts_ok, draft_failures = self._verify_drafts(cipher)
        report.failures.extend(draft_failures)
        report.chain_problem = self._check_chain(hashes)
        report.chain_ok = report.chain_problem is None
        report.outbox_problems = self._outbox_state_problems(cipher)
        report.clinic_problems = self._clinic_row_problems()
        return report

    def _verify_drafts(self, cipher: RecordCipher) -> tuple[int, list[RecordFailure]]:
        return 0, []

    def _outbox_state_problems(self, cipher: RecordCipher) -> list[str]:
        return []

    def _clinic_row_problems(self) -> list[str]:
        return []

    def _check_chain(self, hashes: dict[tuple[str, str], str]) -> str | None:
        rows = self._open_db().query(
            "SELECT seq, kind, record_id, chain_hash FROM outbox ORDER BY seq"
        )
        chain = GENESIS_CHAIN_HASH
        for expected_seq, (seq, kind, rid, chain_hash) in enumerate(rows, start=1):
            if seq != expected_seq:
                return f"outbox sequence jumps from {expected_seq - 1} to {seq}"
            content = hashes.get((kind, rid))
            if content is None:
                return f"outbox entry {seq} points at a record that is missing or unreadable"
            chain = next_chain_hash(chain, content)
            if chain != chain_hash:
                return f"outbox chain breaks at entry {seq}"
        return None
