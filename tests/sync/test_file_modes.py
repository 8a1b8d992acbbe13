"""SECURITY.md 28: the server's SQLite files are readable by their owner only: the database,
its -wal and -shm at 0600 and its folder at 0700, from `server migrate` and from the demo."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fieldapp.cli import main
from fieldapp.demo.stack import DemoStack
from fieldapp.settings import Settings, StoreSettings
from sync.server.config import ServerSettings
from sync.server.db import make_engine, transaction
from sync.server.migrate import migrate
from tests.sync.factories import add_user


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _database_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("server.db*"))


@pytest.fixture
def open_umask() -> Any:
    """A umask that would leave new files readable by everyone (0644), as many hosts do."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_server_migrate_with_the_default_url_makes_private_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, open_umask: None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIELDAPP_DATABASE_URL", raising=False)
    assert main(["server", "migrate"]) == 0
    assert "warning" not in capsys.readouterr().err
    folder = tmp_path / "fieldapp-server"
    assert _mode(folder) == 0o700
    # The server at work: WAL mode makes -wal and -shm beside the database.
    engine = make_engine(ServerSettings())
    try:
        add_user(engine, "c01", "clinician")
        with transaction(engine) as session:
            session.connection()
            files = _database_files(folder)
            assert {f.name for f in files} >= {"server.db", "server.db-wal", "server.db-shm"}
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        engine.dispose()


def test_files_an_older_version_left_open_are_closed(
    tmp_path: Path, capsys: Any, open_umask: None
) -> None:
    folder = tmp_path / "clinic"
    folder.mkdir(mode=0o755)
    database = folder / "server.db"
    url = f"sqlite:///{database}"
    for name in ("server.db", "server.db-wal", "server.db-shm"):
        (folder / name).touch(mode=0o644)
    migrate(url)
    assert [_mode(f) for f in _database_files(folder)] == [0o600] * 3
    # A folder the clinic chose and others may enter is left alone, and said so.
    assert main(["server", "--database-url", url, "migrate"]) == 0
    assert f"other users of this host may enter {folder}" in capsys.readouterr().err
    assert _mode(folder) == 0o755


def test_the_demo_keeps_its_server_database_private(tmp_path: Path, open_umask: None) -> None:
    fast = StoreSettings(kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1)
    stack = DemoStack.start(tmp_path / "demo", Settings(store=fast), date(2026, 11, 22))
    try:
        folder = tmp_path / "demo"
        assert _mode(folder) == 0o700
        files = _database_files(folder)
        assert len(files) >= 2  # the database and its -wal at least, while the server runs
        assert all(_mode(f) == 0o600 for f in files)
    finally:
        stack.stop()
