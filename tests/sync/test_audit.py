"""SECURITY.md 21: the audit chain names the first changed, deleted, reordered or inserted entry.

Deleting the newest entries leaves a valid chain; anchors (`audit head`) kept off the
database catch it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fieldapp.cli import main as fieldapp_main
from fieldapp.commands.server import cli_actor
from sync.server import audit
from sync.server.db import make_engine, transaction
from sync.server.migrate import grant_app_role
from sync.server.models import AuditEvent
from tests.sync.conftest import auth, test_settings
from tests.sync.factories import World

TAMPERS = {
    "changed": ["UPDATE audit_event SET outcome = 'ok-ish' WHERE seq = 5"],
    "deleted": ["DELETE FROM audit_event WHERE seq = 5"],
    "reordered": [
        "UPDATE audit_event SET seq = -1 WHERE seq = 5",
        "UPDATE audit_event SET seq = 5 WHERE seq = 6",
        "UPDATE audit_event SET seq = 6 WHERE seq = -1",
    ],
    "inserted": [
        "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 5",
        "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1005",
        "INSERT INTO audit_event (seq, at, actor, device_id, action, outcome, detail, "
        "prev_hash, hash) SELECT 5, at, actor, device_id, action, outcome, detail, "
        "prev_hash, hash FROM audit_event WHERE seq = 4",
    ],
}


async def _events(world: World, api: httpx.AsyncClient, count: int = 8) -> None:
    for _ in range(count):
        assert (await api.get("/visits", headers=auth(world, "a"))).status_code == 200


def _as_owner(world: World, *statements: str) -> None:
    """Run SQL with the database owner's rights (an attacker), past SQLite's triggers."""
    with world.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        for statement in statements:
            conn.execute(text(statement))


def _audit_cli(capsys: Any, db_url: str, *argv: str) -> tuple[int, str]:
    """Run `fieldapp server audit ...` in process; (exit status, stdout + stderr)."""
    capsys.readouterr()
    status = fieldapp_main(["server", "--database-url", db_url, "audit", *argv])
    out = capsys.readouterr()
    return status, out.out + out.err


def _take_anchor(capsys: Any, db_url: str, anchor_log: Path) -> audit.AuditAnchor:
    status, out = _audit_cli(capsys, db_url, "head", "--append-to", str(anchor_log))
    assert status == 0, out
    return audit.parse_anchor(out.strip())


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
async def test_tampering_is_named_at_the_first_bad_entry(
    app: Any, world: World, api: httpx.AsyncClient, db_url: str, tamper: str, capsys: Any
) -> None:
    await _events(world, api)
    with transaction(world.engine) as session:
        assert audit.verify(session)[1] is None
    assert fieldapp_main(["server", "--database-url", db_url, "audit", "verify"]) == 0
    _as_owner(world, *TAMPERS[tamper])
    with transaction(world.engine) as session:
        _, problem = audit.verify(session)
    assert problem is not None and problem.seq == 5, problem
    capsys.readouterr()
    assert fieldapp_main(["server", "--database-url", db_url, "audit", "verify"]) == 1
    assert "audit entry 5" in capsys.readouterr().out


async def test_audit_rows_cannot_be_changed_by_the_app(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    await _events(world, api)
    with world.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            grant_app_role(conn, "fieldapp_test_app")
            conn.execute(text("SET ROLE fieldapp_test_app"))
            conn.execute(text("SELECT count(*) FROM audit_event"))
            conn.execute(
                text("INSERT INTO rate_bucket (key, tokens, updated) VALUES ('probe', 1, 0)")
            )
            # it appends through audit_append (migration 0014), with its own rights
            newest = conn.execute(text("SELECT max(seq) FROM audit_event")).scalar_one()
            appended = conn.execute(
                text("SELECT new_seq FROM audit_append('t', 'a', NULL, 'probe', 'ok', '{}', '{')")
            ).scalar_one()
            assert appended == newest + 1
        for statement in (
            "UPDATE audit_event SET outcome = 'x' WHERE seq = 1",
            "DELETE FROM audit_event WHERE seq = 1",
        ):
            with pytest.raises(DBAPIError), conn.begin_nested():
                conn.execute(text(statement))
        conn.rollback()


async def test_truncating_the_newest_entries_is_caught_only_by_an_anchor(
    app: Any, world: World, api: httpx.AsyncClient, db_url: str, tmp_path: Path, capsys: Any
) -> None:
    await _events(world, api)
    anchor = _take_anchor(capsys, db_url, tmp_path / "anchors.txt")
    await _events(world, api, 3)
    _as_owner(world, f"DELETE FROM audit_event WHERE seq > {anchor.seq}")
    # Entries newer than the newest anchor are not protected: that is the anchors' cadence.
    assert _audit_cli(capsys, db_url, "verify", "--anchor", str(tmp_path / "anchors.txt")) == (
        0,
        f"audit chain ok: {anchor.seq} entries\n"
        f"anchors ok: all 1 present, the newest at entry {anchor.seq}\n",
    )

    kept = anchor.seq - 3
    _as_owner(world, f"DELETE FROM audit_event WHERE seq > {kept}")
    assert _audit_cli(capsys, db_url, "verify") == (0, f"audit chain ok: {kept} entries\n")
    status, out = _audit_cli(capsys, db_url, "verify", "--anchor", str(tmp_path / "anchors.txt"))
    assert status == 1
    assert out == (
        f"audit chain BROKEN: audit entry {anchor.seq}: missing: the log was cut after "
        f"{kept} (anchor from {anchor.when})\n"
    )


async def test_an_intact_log_passes_with_several_anchors(
    app: Any, world: World, api: httpx.AsyncClient, db_url: str, tmp_path: Path, capsys: Any
) -> None:
    anchor_log = tmp_path / "anchors.txt"
    anchors = []
    for _ in range(3):
        await _events(world, api, 2)
        anchors.append(_take_anchor(capsys, db_url, anchor_log))
    await _events(world, api, 2)
    status, out = _audit_cli(
        capsys, db_url, "verify", "--anchor", str(anchor_log), "--anchor", str(anchors[0])
    )
    assert status == 0, out
    assert f"anchors ok: all 4 present, the newest at entry {anchors[-1].seq}" in out
    with transaction(world.engine) as session:
        assert audit.verify(session, anchors) == (anchors[-1].seq + 2, None)


async def test_an_anchor_whose_entry_has_another_hash_fails(
    app: Any, world: World, api: httpx.AsyncClient, db_url: str, tmp_path: Path, capsys: Any
) -> None:
    await _events(world, api)
    anchor = _take_anchor(capsys, db_url, tmp_path / "anchors.txt")
    other_hash = ("0" if anchor.hash[0] != "0" else "1") + anchor.hash[1:]
    forged = audit.AuditAnchor(anchor.seq, other_hash, anchor.at)
    status, out = _audit_cli(capsys, db_url, "verify", "--anchor", str(forged))
    assert status == 1
    assert f"audit entry {anchor.seq}: does not match the anchor taken {anchor.when}" in out

    # Cut the log and let the server carry on: a valid chain reaches the anchored entry
    # again, with other content, so only the anchor shows it.
    _as_owner(world, f"DELETE FROM audit_event WHERE seq > {anchor.seq - 3}")
    await _events(world, api, 5)
    assert _audit_cli(capsys, db_url, "verify")[0] == 0
    status, out = _audit_cli(capsys, db_url, "verify", "--anchor", str(tmp_path / "anchors.txt"))
    assert status == 1
    assert f"audit entry {anchor.seq}: does not match the anchor" in out


async def test_a_broken_chain_is_reported_before_the_anchors(
    app: Any, world: World, api: httpx.AsyncClient, db_url: str, tmp_path: Path, capsys: Any
) -> None:
    await _events(world, api)
    anchor = _take_anchor(capsys, db_url, tmp_path / "anchors.txt")
    _as_owner(world, *TAMPERS["changed"])
    status, out = _audit_cli(capsys, db_url, "verify", "--anchor", str(anchor))
    assert (status, out) == (1, "audit chain BROKEN: audit entry 5: its content was changed\n")


def test_head_appends_one_parseable_line_per_call(db_url: str, tmp_path: Path, capsys: Any) -> None:
    anchor_log = tmp_path / "anchors.txt"
    anchor_log.write_text("# anchors of the test clinic\n", encoding="utf-8")
    printed = []
    for _ in range(2):
        status, out = _audit_cli(capsys, db_url, "head", "--append-to", str(anchor_log))
        assert status == 0, out
        printed.append(out.strip())
    lines = anchor_log.read_text(encoding="utf-8").splitlines()
    assert lines[1:] == printed
    first, second = audit.parse_anchors(anchor_log.read_text(encoding="utf-8"))
    assert (first.seq, second.seq) == (1, 2) and second.at >= first.at
    engine = make_engine(test_settings(db_url))
    with transaction(engine) as session:  # the head printed is the audit_head event itself
        event = session.get(AuditEvent, second.seq)
        assert event is not None and (event.actor, event.action) == (cli_actor(), "audit_head")
        assert audit.AuditAnchor.of(event) == second
        assert audit.verify(session, [first, second]) == (2, None)
    engine.dispose()


def test_writers_appending_at_once_leave_one_unbroken_chain(db_url: str) -> None:
    # Each append reads the chain's head only once the lock is its own: with a stale head
    # two events would share a seq (refused) or fork the chain (reported by verify).
    engine = make_engine(test_settings(db_url))
    writers, each = 6, 10

    def write(writer: int) -> list[int]:
        seqs = []
        for i in range(each):
            with transaction(engine) as session:
                event = audit.append(
                    session,
                    actor=f"writer{writer}",
                    action="push",
                    outcome="ok",
                    detail={"n": i},
                    commit=i % 2 == 0,  # both ways: committing inside the append and after
                )
                seqs.append(event.seq)
        return seqs

    with ThreadPoolExecutor(writers) as pool:
        given = [seq for seqs in pool.map(write, range(writers)) for seq in seqs]
    assert sorted(given) == list(range(1, writers * each + 1))
    with transaction(engine) as session:
        assert audit.verify(session) == (writers * each, None)
    engine.dispose()


def test_a_malformed_anchor_line_is_named_by_its_line_number(
    db_url: str, tmp_path: Path, capsys: Any
) -> None:
    anchor_log = tmp_path / "anchors.txt"
    _take_anchor(capsys, db_url, anchor_log)
    with anchor_log.open("a", encoding="utf-8") as file:
        file.write("\n# emailed to the clinic manager\naudit-anchor v1 2 not-a-hash 2026-11-21\n")
    status, out = _audit_cli(capsys, db_url, "verify", "--anchor", str(anchor_log))
    assert status == 2
    assert f"{anchor_log}: line 4: the hash is not 64 lowercase hex digits" in out
    assert "audit chain" not in out  # nothing was checked against a half-read anchor log


GOOD_HASH = "ab" * 32

MALFORMED = {
    "": "does not start with 'audit-anchor v1'",
    f"anchor v1 1 {GOOD_HASH} 2026-11-21T18:00:00+00:00": "does not start",
    f"audit-anchor v2 1 {GOOD_HASH} 2026-11-21T18:00:00+00:00": "version 'v2' is not supported",
    f"audit-anchor v1 1 {GOOD_HASH}": "expected 5 fields, found 4",
    f"audit-anchor v1 0 {GOOD_HASH} 2026-11-21T18:00:00+00:00": "'0' is not a positive integer",
    f"audit-anchor v1 -3 {GOOD_HASH} 2026-11-21T18:00:00+00:00": "'-3' is not a positive",
    f"audit-anchor v1 ٣ {GOOD_HASH} 2026-11-21T18:00:00+00:00": "is not a positive integer",
    f"audit-anchor v1 1 {GOOD_HASH.upper()} 2026-11-21T18:00:00+00:00": "64 lowercase hex",
    f"audit-anchor v1 1 {GOOD_HASH[:-1]} 2026-11-21T18:00:00+00:00": "64 lowercase hex",
    f"audit-anchor v1 1 {GOOD_HASH} yesterday": "'yesterday' is not an ISO 8601 time",
}


@pytest.mark.parametrize("line", sorted(MALFORMED))
def test_parse_anchor_refuses_a_malformed_line(line: str) -> None:
    with pytest.raises(audit.AnchorInvalid) as refused:
        audit.parse_anchor(line, line_number=7)
    assert str(refused.value).startswith("line 7: ") and MALFORMED[line] in str(refused.value)


def test_an_anchor_line_reads_back_as_written() -> None:
    anchor = audit.AuditAnchor(4812, GOOD_HASH, "2026-11-21T18:00:00.000001+00:00")
    assert audit.parse_anchors(f"# kept off the server\n\n  {anchor}\r\n") == [anchor]
    assert anchor.when == "2026-11-21T18:00Z"
