"""`fieldapp store add-checker`: the colleague's PIN enrols them; their key signs."""

from __future__ import annotations

import pytest

from fieldapp.cli import main
from fieldapp.store.store import Store
from tests.store.factory import FAST, PASSPHRASE, new_store


def test_add_checker_enrols_a_colleague(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c01.store"
    new_store(path).close()
    monkeypatch.setenv("FIELDAPP_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FIELDAPP_CHECKER_PIN", "482913")
    monkeypatch.setenv("FIELDAPP_USER_CONFIG", str(tmp_path / "none.toml"))
    assert main(["store", "add-checker", "c02", "--store", str(path)]) == 0
    assert "enrolled c02 as a second checker" in capsys.readouterr().out
    with Store.open(path, FAST) as store:
        store.unlock(PASSPHRASE)
        assert store.checkers() == ["c02"]
        assert store.sign_as_checker("c02", "482913", b"order").checker == "c02"
