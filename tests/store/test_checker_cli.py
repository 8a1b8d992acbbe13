"""`fieldapp store add-checker`: the colleague's PIN and one-time code enrol them; their
key signs; the code waits sealed in the store until the clinic files the key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from fieldapp.cli import main
from fieldapp.errors import StoreError
from fieldapp.store.store import Store
from tests.store.factory import FAST, PASSPHRASE, new_store

CODE = "7K2M9Q-XR4T-HW8N"  # the shape of a clinic's checker code; synthetic


@pytest.fixture
def typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store, with the passphrase, the colleague's PIN and their code as typed."""
    path = tmp_path / "c01.store"
    new_store(path).close()
    monkeypatch.setenv("FIELDAPP_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FIELDAPP_CHECKER_PIN", "482913")
    monkeypatch.setenv("FIELDAPP_CHECKER_CODE", CODE)
    monkeypatch.setenv("FIELDAPP_USER_CONFIG", str(tmp_path / "none.toml"))
    return path


def test_add_checker_enrols_a_colleague_and_keeps_their_code_sealed(
    typed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["store", "add-checker", "c02", "--store", str(typed)]) == 0
    out = capsys.readouterr().out
    assert "enrolled c02 as a second checker" in out
    assert "not enrolled with a clinic: the key is filed once it is" in out
    with Store.open(typed, FAST) as store:
        store.unlock(PASSPHRASE)
        assert store.checkers() == ["c02"]
        assert store.sign_as_checker("c02", "482913", b"order").checker == "c02"
        key = store.checker_public_key("c02")
        assert store.unfiled_checkers() == [("c02", key, CODE)]
    # the code waits for the sync inside the store's ciphertext, in no file in clear
    compact = CODE.replace("-", "")
    forms = [CODE, compact, CODE.lower(), base64.b64encode(CODE.encode()).decode()]
    for file in typed.parent.iterdir():
        data = file.read_bytes()
        for form in forms:
            assert form.encode() not in data, file
            assert form.encode("utf-16-le") not in data, file


def test_no_code_no_checker(
    typed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIELDAPP_CHECKER_CODE", "  ")
    assert main(["store", "add-checker", "c02", "--store", str(typed)]) == 2
    assert "types the checker code the clinic issued to them" in capsys.readouterr().err
    with Store.open(typed, FAST) as store:
        store.unlock(PASSPHRASE)
        assert store.checkers() == []


def test_the_code_is_dropped_once_filed_or_refused_and_the_checker_enrolled_again(
    tmp_path: Path,
) -> None:
    with new_store(tmp_path / "c01.store") as store:
        first = store.enrol_checker("c02", "482913", CODE)
        store.checker_code_refused("c02", first)
        assert store.unfiled_checkers() == []  # nothing left to file it with
        second = store.enrol_checker("c02", "975310", "9ZZZZZ-YYYY-XXXX")  # a new code
        assert second != first
        assert store.unfiled_checkers() == [("c02", second, "9ZZZZZ-YYYY-XXXX")]
        store.checker_filed("c02", second)
        assert store.unfiled_checkers() == []
        with pytest.raises(StoreError, match="already enrolled"):
            store.enrol_checker("c02", "975310", CODE)
        with pytest.raises(StoreError, match="letters, digits and dashes"):
            store.enrol_checker("c03", "975310", "not a code!")
