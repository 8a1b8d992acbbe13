"""`fieldapp store init | info | verify | passwd | wipe`, headless."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fieldapp.cli import main
from fieldapp.store import Store
from tests.store.factory import FAST, device_record, patient

PASS = "cli synthetic passphrase"
NEW = "cli synthetic passphrase two"


@pytest.fixture(autouse=True)
def fast_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIELDAPP_USER_CONFIG", str(tmp_path / "no-user-config.toml"))
    monkeypatch.setenv("FIELDAPP_STORE__KDF_MEMORY_KIB", "19456")
    monkeypatch.setenv("FIELDAPP_STORE__KDF_ITERATIONS", "2")
    monkeypatch.setenv("FIELDAPP_STORE__KDF_LANES", "1")
    monkeypatch.setenv("FIELDAPP_PASSPHRASE", PASS)
    monkeypatch.delenv("FIELDAPP_STORE", raising=False)


def _seed(path: Path, name: str) -> list[str]:
    with Store.open(path, FAST) as store:
        store.unlock(PASS)
        person = patient(name=name)
        store.put_server_records([person])
        records = [device_record(k, person.id) for k in ("vitals", "note")]
        store.save_many(records)
    return [str(r.id) for r in records]


def test_init_info_verify_passwd_wipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cli.store"
    assert main(["store", "init", "--store", str(path)]) == 0
    assert path.exists()
    _seed(path, "Cli Canary Person")
    capsys.readouterr()

    monkeypatch.delenv("FIELDAPP_PASSPHRASE")  # info needs no passphrase
    assert main(["store", "info", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "note 1, patient 1, vitals 1" in out
    assert "2 pending, 0 set aside" in out
    assert "Cli Canary Person" not in out
    monkeypatch.setenv("FIELDAPP_PASSPHRASE", PASS)

    assert main(["store", "verify", "--store", str(path)]) == 0
    assert "ok: 3 records" in capsys.readouterr().out

    monkeypatch.setenv("FIELDAPP_NEW_PASSPHRASE", NEW)
    assert main(["store", "passwd", "--store", str(path)]) == 0
    assert main(["store", "verify", "--store", str(path)]) == 2  # the old one no longer works
    assert "did not unlock" in capsys.readouterr().err
    monkeypatch.setenv("FIELDAPP_PASSPHRASE", NEW)
    assert main(["store", "verify", "--store", str(path)]) == 0

    assert main(["store", "wipe", "--store", str(path), "--yes"]) == 0
    assert not path.exists()
    assert main(["store", "info", "--store", str(path)]) == 2


def test_verify_names_each_failing_record_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.store"
    assert main(["store", "init", "--store", str(path)]) == 0
    vitals_id, note_id = _seed(path, "Verify Canary Person")
    with sqlite3.connect(path, isolation_level=None) as conn:
        (ct,) = conn.execute("SELECT ct FROM records WHERE id = ?", (note_id,)).fetchone()
        flipped = bytes([ct[0] ^ 0x40]) + ct[1:]
        conn.execute("UPDATE records SET ct = ? WHERE id = ?", (flipped, note_id))
    conn.close()
    capsys.readouterr()
    assert main(["store", "verify", "--store", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"FAILED note {note_id}" in out
    assert vitals_id not in out
    assert "Verify Canary Person" not in out


def test_store_path_from_the_environment_and_wipe_needs_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "env.store"
    monkeypatch.setenv("FIELDAPP_STORE", str(path))
    assert main(["store", "init"]) == 0
    assert path.exists()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["store", "wipe"]) == 2
    assert "--yes" in capsys.readouterr().err
    assert path.exists()


def test_plain_sqlite_file_is_refused_by_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plain.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    assert main(["store", "info", "--store", str(path)]) == 2
    assert "not a fieldapp store" in capsys.readouterr().err
