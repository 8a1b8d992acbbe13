"""Device settings: `config/fieldapp.toml`, then the user's file, then `FIELDAPP_*` variables.

Later sources override earlier ones key by key. Environment variables name a key as
`FIELDAPP_<SECTION>__<KEY>` (`FIELDAPP_STORE__AUTO_LOCK_MINUTES=10`); a few common ones
have short names (`FIELDAPP_STORE`, `FIELDAPP_SERVER_URL`). A bad value anywhere stops
with one message naming the file (or variable), the key and what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field

from fieldapp.config import config_dir, deep_merge, load_toml, validate
from fieldapp.errors import ConfigError

APP_NAME = "fieldapp"
SHORT_ENV_NAMES = {
    "FIELDAPP_STORE": ("store", "path"),
    "FIELDAPP_SERVER_URL": ("sync", "server_url"),
    "FIELDAPP_USER": ("store", "user"),
}


class Section(BaseModel):
    """A settings table: unknown keys are mistakes, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(Section):
    """Where the encrypted store lives and how it protects itself."""

    path: Path | None = Field(
        None, description="Store file; default under the user's data directory."
    )
    user: str = Field(
        "default",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The clinician this laptop account's store belongs to.",
    )
    auto_lock_minutes: float = Field(
        5, gt=0, le=15, description="Idle minutes before the store locks (HIPAA: at most 15)."
    )
    reentry_hours: float = Field(
        12, gt=0, le=24, description="Hours after which the passphrase is asked again regardless."
    )
    kdf_memory_kib: int = Field(
        65536, ge=19456, description="Argon2id memory cost (KiB); OWASP floor 19 MiB."
    )
    kdf_iterations: int = Field(3, ge=2, description="Argon2id passes; OWASP floor 2.")
    kdf_lanes: int = Field(4, ge=1, le=64, description="Argon2id lanes (parallelism).")
    backoff_after_failures: int = Field(
        5, ge=1, le=20, description="Wrong passphrases allowed before the back-off starts."
    )
    backoff_base_s: float = Field(
        30, gt=0, le=3600, description="First back-off; doubles with each further failure."
    )
    backoff_max_s: float = Field(3600, gt=0, description="Longest back-off.")
    pin_min_digits: int = Field(
        6, ge=6, le=12, description="Shortest quick-unlock PIN (digits); never fewer than 6."
    )
    pin_max_tries: int = Field(
        5, ge=1, le=10, description="Wrong PINs allowed before the passphrase is needed again."
    )

    def resolved_path(self) -> Path:
        """The store file: the configured path or one per user under the data directory."""
        if self.path is not None:
            return self.path.expanduser()
        return Path(platformdirs.user_data_dir(APP_NAME)) / f"{self.user}.store"


class SyncSettings(Section):
    """How the device talks to the clinic server."""

    server_url: str | None = Field(
        None, description="The clinic server; https:// except on loopback."
    )
    ca_bundle: Path | None = Field(
        None, description="A clinic CA bundle to trust, besides the system's."
    )
    timeout_s: float = Field(15, gt=0, le=300, description="Timeout for each request.")
    batch_size: int = Field(200, ge=1, le=5000, description="Records per push request.")
    retry_base_s: float = Field(
        2, gt=0, le=600, description="First retry delay after a failed sync."
    )
    retry_max_s: float = Field(300, gt=0, le=3600, description="Longest retry delay.")
    interval_s: float = Field(
        120, gt=0, le=86400, description="Background sync period while online."
    )
    duress_retry_s: float = Field(
        5, gt=0, le=60, description="Seconds between tries of an undelivered duress signal."
    )


class UiSettings(Section):
    """How the terminal app looks and which keys do what."""

    theme: str = Field("textual-dark", description="Textual theme name (light or dark).")
    keys: dict[str, str] = Field(
        default_factory=dict, description="Binding id -> key, to remap keys."
    )


class ShiftSettings(Section):
    """The start-of-shift check."""

    credential_warn_days: int = Field(
        30,
        ge=0,
        le=365,
        description="Days ahead of a credential's expiry (ACLS, licence) that the shift "
        "check warns; a clinic choice (CLINICAL.md sets none). An expired one blocks "
        "infusions whatever this says (protocol.personnel).",
    )


class Settings(Section):
    """Every device setting."""

    store: StoreSettings = StoreSettings()
    sync: SyncSettings = SyncSettings()
    ui: UiSettings = UiSettings()
    shift: ShiftSettings = ShiftSettings()


def user_config_file() -> Path:
    """The user's own settings file, laid over the clinic's defaults."""
    override = os.environ.get("FIELDAPP_USER_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "fieldapp.toml"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings given as `FIELDAPP_SECTION__KEY` (or a short name) in the environment."""
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if name in SHORT_ENV_NAMES:
            section, key = SHORT_ENV_NAMES[name]
        elif name.startswith("FIELDAPP_") and "__" in name:
            section, _, key = name.removeprefix("FIELDAPP_").lower().partition("__")
        else:
            continue
        overrides.setdefault(section, {})[key] = value
    return overrides


def load_settings(
    default_file: Path | None = None,
    user_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from the clinic file, the user's file and the environment, validated."""
    default_file = default_file or config_dir() / "fieldapp.toml"
    user_file = user_file or user_config_file()
    environ = os.environ if environ is None else environ
    data = load_toml(default_file)
    validate(Settings, data, default_file)
    if user_file.exists():
        user_data = load_toml(user_file)
        validate(Settings, deep_merge(data, user_data), user_file)
        data = deep_merge(data, user_data)
    env = _env_overrides(environ)
    if env:
        unknown = sorted(f"{s}" for s in env if s not in Settings.model_fields)
        if unknown:
            raise ConfigError(
                f"environment: FIELDAPP_{unknown[0].upper()}__…: unknown settings section"
            )
        data = deep_merge(data, env)
        return validate(Settings, data, "environment (FIELDAPP_* variables)")
    return validate(Settings, data, default_file)
