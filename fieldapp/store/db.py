"""The SQLite file under the store: schema, safe pragmas, refusal of foreign files, transactions.

Only ids, kinds, versions, sequence numbers, sync state, blind indexes (keyed HMACs) and
ciphertexts are columns here; every patient fact is inside a ciphertext.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from fieldapp.errors import NotAStore, StoreDamaged, StoreError, StoreFull, StoreWiped

SCHEMA_VERSION = 1
MAGIC = "fieldapp-store"
APPLICATION_ID = 0x46415053  # "FAPS": fieldapp store, in the SQLite file header
SQLITE_HEADER = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keyslot (
    slot INTEGER PRIMARY KEY CHECK (slot = 1),
    kdf_memory_kib INTEGER NOT NULL,
    kdf_iterations INTEGER NOT NULL,
    kdf_lanes INTEGER NOT NULL,
    salt BLOB NOT NULL,
    nonce BLOB NOT NULL,
    wrapped BLOB NOT NULL,
    generation INTEGER NOT NULL,
    encryptions INTEGER NOT NULL
);
CREATE TABLE unlock_failures (
    slot INTEGER PRIMARY KEY CHECK (slot = 1),
    failures INTEGER NOT NULL,
    last_failure_at REAL
);
CREATE TABLE records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    owner TEXT NOT NULL CHECK (owner IN ('device', 'server')),
    seq INTEGER UNIQUE,
    patient_ix BLOB,
    day_ix BLOB,
    visit_ix BLOB,
    nonce BLOB NOT NULL,
    ct BLOB NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_patient ON records (patient_ix);
CREATE INDEX records_day ON records (day_ix);
CREATE INDEX records_visit ON records (visit_ix);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    chain_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'synced', 'conflict', 'rejected')),
    FOREIGN KEY (kind, record_id) REFERENCES records (kind, id)
);
CREATE INDEX outbox_state ON outbox (state, seq);
CREATE TABLE drafts (key_ix BLOB PRIMARY KEY, nonce BLOB NOT NULL, ct BLOB NOT NULL);
CREATE TABLE secrets (name TEXT PRIMARY KEY, nonce BLOB NOT NULL, ct BLOB NOT NULL);
CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE deferred_removals (kind TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (kind, id));
"""

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA secure_delete=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)

SIDE_FILES = ("-wal", "-shm", "-journal")


def translate(exc: BaseException) -> StoreError:
    """Our error for a SQLite or OS failure; SQLite's messages hold no values."""
    message = str(exc).lower()
    if "full" in message or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
        return StoreFull(
            "The disk is full: the last change was not saved, earlier records are intact. "
            "Free some space and try again."
        )
    if "locked" in message or "busy" in message:
        return StoreError("The store is busy in another program: close it and try again.")
    if "malformed" in message or "not a database" in message:
        return StoreDamaged("The store file is damaged: SQLite cannot read it.")
    detail = str(exc).split(" with text ")[0][:160]  # never echo stored bytes
    return StoreError(f"The store could not be used ({exc.__class__.__name__}: {detail}).")


def _text(raw: bytes) -> str:
    # A tampered column may hold bytes that are not UTF-8: read them as what they are (a
    # mismatch that authentication then reports), never fail the read itself.
    return raw.decode("utf-8", "replace")


def _connect(path: Path) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.text_factory = _text
    return conn


HEADER_SIZE = 100  # SQLite's file header


def _damaged(path: Path) -> StoreDamaged:
    return StoreDamaged(
        f"The store at {path} is damaged (the file was cut short or corrupted), so it cannot "
        "be opened: keep the file, do not delete it, and call the clinic."
    )


def _cut_short(path: Path, header: bytes) -> bool:
    """Whether the file holds fewer pages than its header says it has.

    The count in the header is trusted only when SQLite marks it valid, and only with no
    write-ahead log beside the file (after a crash in the middle of a checkpoint the log
    still holds pages SQLite will copy back on opening).
    """
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return False
    if header[24:28] != header[92:96]:  # the page count's "valid for" number
        return False
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    return path.stat().st_size < page_size * pages


class Database:
    """One connection to a store file, with explicit transactions."""

    def __init__(self, path: Path, conn: sqlite3.Connection, meta: dict[str, str]) -> None:
        self.path = path
        self.conn = conn
        self.meta = meta

    @classmethod
    def create(cls, path: Path, meta: dict[str, str]) -> Database:
        """A new, empty store file (owner-only permissions) holding the schema and `meta`."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Create the file ourselves so SQLite (and its -wal/-shm) inherit mode 0600.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        conn = _connect(path)
        try:
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            full = {"magic": MAGIC, "schema_version": str(SCHEMA_VERSION), **meta}
            # Not atomic on its own: the caller builds the file under a temporary name.
            conn.executescript(SCHEMA)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(full.items()))
            db = cls(path, conn, full)
            db._apply_pragmas()
            return db
        except sqlite3.Error as exc:
            conn.close()
            raise translate(exc) from None

    @classmethod
    def open(cls, path: Path) -> Database:
        """Open an existing store, refusing anything that is not a store this version reads."""
        if not path.is_file():
            raise NotAStore(f"No store at {path}: create one with `fieldapp store init`.")
        with path.open("rb") as handle:
            header = handle.read(HEADER_SIZE)
        if not header.startswith(SQLITE_HEADER):
            raise NotAStore(f"{path} is not a fieldapp store: it is not an SQLite database.")
        ours = header[68:72] == APPLICATION_ID.to_bytes(4, "big")
        if len(header) < HEADER_SIZE or (ours and _cut_short(path, header)):
            raise _damaged(path)
        conn = _connect(path)
        try:
            meta = cls._read_meta(path, conn)
            db = cls(path, conn, meta)
            db._apply_pragmas()
            return db
        except sqlite3.DatabaseError:
            conn.close()
            if ours:  # our header, unreadable beyond it: a store, damaged
                raise _damaged(path) from None
            raise NotAStore(f"{path} is not a fieldapp store: SQLite cannot read it.") from None
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _read_meta(path: Path, conn: sqlite3.Connection) -> dict[str, str]:
        # Checks run before any pragma: a refused file is left exactly as it was.
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id != APPLICATION_ID or "meta" not in tables:
            raise NotAStore(f"{path} is an SQLite database but not a fieldapp store.")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("magic") != MAGIC:
            raise NotAStore(f"{path} is an SQLite database but not a fieldapp store.")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise NotAStore(
                f"{path} was written by a newer fieldapp (store schema {version}; this version "
                f"reads up to {SCHEMA_VERSION}): update fieldapp to open it."
            )
        if version < 1:
            raise NotAStore(f"{path} is an SQLite database but not a fieldapp store.")
        if meta.get("wiped") == "1":
            raise StoreWiped(f"The store at {path} was wiped: its data can never be read again.")
        return meta

    def _apply_pragmas(self) -> None:
        for pragma in PRAGMAS:
            self.conn.execute(pragma)
        (mode,) = self.conn.execute("PRAGMA journal_mode").fetchone()
        if mode != "wal":
            raise StoreError(f"The store at {self.path} cannot use write-ahead logging here.")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: committed at the end, rolled back on any error."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate(exc) from None
        try:
            yield self.conn
            self._commit()
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error | OSError):
                raise translate(exc) from None
            raise

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            # SQLite may already have rolled back on its own (e.g. after SQLITE_FULL).
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def version(self) -> tuple[int, int]:
        """Changes to the file so far: rows this connection changed, and SQLite's count of
        commits by other connections (`PRAGMA data_version`). Equal twice: nothing changed."""
        try:
            (others,) = self.conn.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error as exc:
            raise translate(exc) from None
        return self.conn.total_changes, int(others)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """All rows of a read."""
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc) from None

    def checkpoint(self) -> None:
        """Copy the WAL into the file and truncate it, so replaced pages leave no copy behind."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            raise translate(exc) from None

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check."""
        return self.query("PRAGMA integrity_check") == [("ok",)]

    def close(self) -> None:
        """Close the connection (SQLite checkpoints and removes the WAL when it can)."""
        self.conn.close()


def remove_files(path: Path) -> None:
    """Delete a store file and its SQLite side files."""
    for candidate in (path, *(path.with_name(path.name + s) for s in SIDE_FILES)):
        with suppress(FileNotFoundError):
            candidate.unlink()


def fsync_dir(directory: Path) -> None:
    """Make a rename or delete in `directory` durable."""
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
