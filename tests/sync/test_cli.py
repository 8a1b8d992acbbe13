"""`fieldapp server ...`, `fieldapp enroll` and `fieldapp sync` with the real encrypted store."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from fieldapp.cli import main
from fieldapp.settings import StoreSettings
from fieldapp.store import Store
from sync.records import Visit
from sync.server.db import make_engine, transaction
from sync.server.models import DeviceRecordRow
from tests.sync.conftest import test_settings
from tests.sync.factories import vitals
from tests.sync.live import LiveServer

FAST_KDF = {
    "FIELDAPP_STORE__KDF_MEMORY_KIB": "19456",
    "FIELDAPP_STORE__KDF_ITERATIONS": "2",
    "FIELDAPP_STORE__KDF_LANES": "1",
}


def run(capsys: Any, *argv: str) -> tuple[int, str]:
    """Run `fieldapp` in process; (exit status, stdout + stderr)."""
    capsys.readouterr()
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out + out.err


def test_server_commands_and_a_laptop_end_to_end(
    db_url: str, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        **FAST_KDF,
        "FIELDAPP_PASSPHRASE": "correct horse battery",
        "FIELDAPP_USER_CONFIG": str(tmp_path / "none.toml"),
    }.items():
        monkeypatch.setenv(key, value)
    srv = ["server", "--database-url", db_url]
    today = datetime.now(UTC).date()
    assert (
        run(capsys, "demo-data", "--date", today.isoformat(), "--out", str(tmp_path / "day.json"))[
            0
        ]
        == 0
    )
    status, out = run(capsys, *srv, "migrate")
    assert status == 0 and "database at revision" in out
    status, out = run(capsys, *srv, "import-day", str(tmp_path / "day.json"))
    assert status == 0 and "30 visits" in out
    assert run(capsys, *srv, "user", "add", "boss", "--role", "admin")[0] == 0
    assert run(capsys, *srv, "user", "add", "boss", "--role", "admin")[0] == 2  # taken
    status, out = run(capsys, *srv, "enroll-code", "c01")
    code = re.search(r"code for c01: (\S+)", out)[1]  # type: ignore[index]
    store_path = tmp_path / "c01.store"
    assert run(capsys, "store", "init", "--store", str(store_path))[0] == 0
    with LiveServer(db_url) as server:
        status, out = run(
            capsys, "enroll", "--server", server.url, "--code", code, "--store", str(store_path)
        )
        assert status == 0 and "enrolled" in out
        assert (
            run(
                capsys, "enroll", "--server", server.url, "--code", code, "--store", str(store_path)
            )[0]
            == 2
        )
        status, out = run(capsys, "sync", "--store", str(store_path))
        assert status == 0 and "sync done" in out
        settings = StoreSettings(kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1)
        with Store.open(store_path, settings) as store:
            store.unlock("correct horse battery")
            visits = store.visits_for_day(today)
            assert visits and all(isinstance(v, Visit) and v.clinician_id == "c01" for v in visits)
            reading = vitals(visits[0].patient_id, visits[0].id, "c01")
            store.save(reading)
        status, out = run(capsys, "sync", "--store", str(store_path))
        assert status == 0 and "1 applied" in out
    engine = make_engine(test_settings(db_url))
    with transaction(engine) as session:
        assert session.exec(select(col(DeviceRecordRow.id))).all() == [str(reading.id)]
    engine.dispose()
    status, out = run(capsys, *srv, "device", "list")
    assert "c01" in out and "active" in out
    device_id = out.splitlines()[1].split()[0]
    assert run(capsys, *srv, "device", "revoke", device_id)[0] == 0
    status, out = run(capsys, *srv, "audit", "verify")
    assert status == 0 and "audit chain ok" in out
    assert "Testpatient" not in out and code not in run(capsys, *srv, "device", "list")[1]
