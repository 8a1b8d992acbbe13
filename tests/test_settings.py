"""Settings: the clinic file, the user's file and the environment, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.config import config_dir
from fieldapp.errors import ConfigError
from fieldapp.settings import load_settings

SHIPPED = config_dir() / "fieldapp.toml"


def test_shipped_defaults_load(tmp_path: Path) -> None:
    settings = load_settings(SHIPPED, tmp_path / "none.toml", environ={})
    assert settings.store.auto_lock_minutes == 5
    assert settings.store.kdf_memory_kib == 65536


def test_user_file_overrides_clinic_file(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[store]\nauto_lock_minutes = 3\nuser = "c02"\n')
    settings = load_settings(SHIPPED, user, environ={})
    assert settings.store.auto_lock_minutes == 3
    assert settings.store.resolved_path().name == "c02.store"


def test_environment_overrides_everything(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text("[store]\nauto_lock_minutes = 3\n")
    env = {"FIELDAPP_STORE__AUTO_LOCK_MINUTES": "7", "FIELDAPP_STORE": str(tmp_path / "x.store")}
    settings = load_settings(SHIPPED, user, environ=env)
    assert settings.store.auto_lock_minutes == 7
    assert settings.store.resolved_path() == tmp_path / "x.store"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[store]\nauto_lock_minutes = 30\n",
            "store.auto_lock_minutes: Input should be less than or equal to 15",
        ),
        ("[store]\nkdf_memory_kib = 1024\n", "store.kdf_memory_kib"),
        ("[store]\nauto_lok_minutes = 3\n", "store.auto_lok_minutes: unknown key"),
        ("[store\n", "not valid TOML"),
    ],
)
def test_bad_user_file_names_file_key_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    user = tmp_path / "user.toml"
    user.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(SHIPPED, user, environ={})
    assert str(user) in str(caught.value)
    assert expected in str(caught.value)


def test_bad_environment_value_names_the_variable_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment .*sync.timeout_s"):
        load_settings(SHIPPED, tmp_path / "none.toml", environ={"FIELDAPP_SYNC__TIMEOUT_S": "soon"})


def test_missing_clinic_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "missing.toml", tmp_path / "none.toml", environ={})
