"""Crashes and a full disk: nothing acknowledged is lost (SECURITY.md 8, 11, 12)."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

from fieldapp.errors import StoreFull, WrongPassphrase
from fieldapp.store import Store
from tests.store.factory import (
    FAST,
    OTHER_PASSPHRASE,
    PASSPHRASE,
    device_record,
    mixed_device_records,
    new_store,
    patient,
)

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 50


def _start(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_child", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "ready\n":
        proc.kill()
        raise AssertionError(
            f"child did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
    return proc


def _kill_after(proc: subprocess.Popen[str], seconds: float) -> list[str]:
    """SIGKILL the child after `seconds`; the complete lines it printed before dying."""
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err
    return [line for line in out.split("\n")[:-1] if line]  # a cut last line was not acknowledged


@pytest.mark.slow
def test_kill_9_while_writing_loses_no_acknowledged_record(tmp_path: Path) -> None:
    path = tmp_path / "crash.store"
    new_store(path).close()
    rng = random.Random(2026)
    acknowledged: list[tuple[str, str]] = []
    for trial in range(TRIALS):
        proc = _start("write", str(path), PASSPHRASE, str(trial))
        lines = _kill_after(proc, rng.uniform(0.0, 0.15))
        acknowledged += [tuple(item.split(":")) for line in lines for item in line.split()]  # type: ignore[misc]
        with Store.open(path, FAST) as store:
            store.unlock(PASSPHRASE)
            report = store.verify()  # integrity_check, every record decrypts, chain re-hashed
            assert report.integrity_ok, f"trial {trial}"
            assert report.failures == [], f"trial {trial}"
            assert report.chain_ok, f"trial {trial}: {report.chain_problem}"
            for kind, rid in acknowledged:
                assert store.get(kind, UUID(rid)) is not None, f"trial {trial}: lost {kind} {rid}"
            items = store.outbox_batch(1_000_000)
            assert [i.seq for i in items] == list(range(1, len(items) + 1))
            assert len(items) >= len(acknowledged)
            store.list_drafts()  # drafts read too
    assert len(acknowledged) > TRIALS  # the children really wrote between kills


@pytest.mark.slow
def test_passphrase_change_killed_midway_opens_with_exactly_one(tmp_path: Path) -> None:
    path = tmp_path / "passwd.store"
    store = new_store(path)
    records = mixed_device_records(random.Random(5), [patient().id], 20)
    store.save_many(records)
    store.close()
    rng = random.Random(8)
    current, other = PASSPHRASE, OTHER_PASSPHRASE
    for trial in range(TRIALS):
        proc = _start("passwd", str(path), current, other)
        lines = _kill_after(proc, rng.uniform(0.0, 0.3))
        opens = []
        for candidate in (current, other):
            with Store.open(path, FAST) as attempt:
                try:
                    attempt.unlock(candidate)
                except WrongPassphrase:
                    continue
                opens.append(candidate)
                assert len(attempt.load_all()) == len(records), f"trial {trial}"
                assert attempt.verify().ok
        assert len(opens) == 1, f"trial {trial}: opens with {len(opens)} passphrases"
        if lines:  # the last acknowledged change, or the one in flight after it
            assert opens[0] in (lines[-1], current if lines[-1] == other else other)
        if opens[0] != current:
            current, other = other, current


def test_disk_full_during_a_write_rolls_back_and_keeps_earlier_data(store: Store) -> None:
    pid = patient().id
    earlier = mixed_device_records(random.Random(1), [pid], 5)
    store.save_many(earlier)
    assert store._db is not None
    conn = store._db.conn
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL
    big = device_record("note", pid, text="x" * 20_000)
    with pytest.raises(StoreFull, match="disk is full"):
        store.save_many([device_record("status", pid), big])
    assert store.get("note", big.id) is None
    assert [store.get(r.KIND, r.id) for r in earlier] == earlier
    assert store.chain_head().seq == 5
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.save(big) == 6
    assert store.verify().ok


def test_disk_full_at_commit_rolls_back_and_keeps_earlier_data(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = patient().id
    earlier = device_record("vitals", pid)
    store.save(earlier)
    db = store._db
    assert db is not None

    def full() -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(db, "_commit", full)
    lost = device_record("vitals", pid)
    with pytest.raises(StoreFull) as caught:
        store.save(lost)
    assert "earlier records are intact" in str(caught.value)
    with pytest.raises(StoreFull):
        store.save_draft("d", {"x": 1})
    monkeypatch.undo()
    assert store.get("vitals", lost.id) is None
    assert store.get("vitals", earlier.id) == earlier
    assert store.load_draft("d") is None
    assert store.save(lost) == 2
    assert store.verify().ok
