"""A store file cut short (a failing disk, an interrupted copy) is reported as a damaged
store, never as "not a fieldapp store", at any cut; the CLI says so in one line."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.cli import main
from fieldapp.errors import StoreDamaged
from fieldapp.store import Store
from tests.store.factory import FAST, device_record, new_store


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a closed store holding a few hundred records."""
    path = tmp_path_factory.mktemp("whole") / "c01.store"
    store = new_store(path)
    patient_id = uuid.uuid4()
    for minute in range(200):
        store.save(device_record("vitals", patient_id, minutes=minute))
    store.close()
    return path.read_bytes()


@given(cut=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_store_cut_anywhere_is_damaged(whole: bytes, tmp_path: Path, cut: float) -> None:
    path = tmp_path / f"cut-{uuid.uuid4().hex}.store"
    path.write_bytes(whole[: max(16, int(len(whole) * cut))])  # at least SQLite's magic
    with pytest.raises(StoreDamaged, match="damaged"):
        Store.open(path, FAST)


@pytest.mark.parametrize("short_by", [1, 4096])
def test_store_info_says_damaged(
    whole: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str], short_by: int
) -> None:
    path = tmp_path / "c01.store"
    path.write_bytes(whole[:-short_by])
    assert main(["store", "info", "--store", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "not a fieldapp store" not in err
    assert err.count("\n") == 1
