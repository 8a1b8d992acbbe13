"""The local error log: code places and types, never a message, a variable or a value."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fieldapp.services import errorlog


def failing(name: str) -> None:
    secret = f"{name} 1950-01-01 12 Synthetic Street"  # a local the log must not hold
    try:
        {}[secret]
    except KeyError as exc:
        raise ValueError(f"could not read {secret}") from exc


def test_an_entry_names_types_and_places_only(tmp_path: Path) -> None:
    log = errorlog.error_log_path(tmp_path / "c01.store")
    assert log.name == "c01.errors.log"
    try:
        failing("Synthetic Patientname")
    except ValueError as error:
        reference = errorlog.record(log, error, "ChecklistScreen", datetime.now(UTC))
    text = log.read_text()
    assert reference in text and "ChecklistScreen" in text
    assert "builtins.ValueError" in text and "builtins.KeyError" in text  # the chain
    assert "test_errorlog.py" in text and "in failing" in text
    for secret in ("Patientname", "1950-01-01", "Synthetic Street", "could not read"):
        assert secret not in text
    assert oct(log.stat().st_mode)[-3:] == "600"


def test_a_full_log_moves_aside(tmp_path: Path) -> None:
    log = tmp_path / "c01.errors.log"
    log.write_text("x" * (errorlog.MAX_BYTES + 1))
    errorlog.record(log, RuntimeError(), "TodayScreen", datetime.now(UTC))
    assert (tmp_path / "c01.errors.log.old").stat().st_size > errorlog.MAX_BYTES
    assert log.stat().st_size < 1000
