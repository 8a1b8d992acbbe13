"""Server settings: `config/server.toml`, then `FIELDAPP_DATABASE_URL` and `FIELDAPP_SERVER__*`.

`sync` never imports `fieldapp`, so this module has its own tiny TOML loader with the same
error style as the device's: one `ServerConfigError` naming the file, the key and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sync.tomlfile import describe_validation_error, read_toml


class ServerConfigError(Exception):
    """A server config file or variable is missing, unreadable or holds a bad value."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimits(_Section):
    """Token buckets per client address, kept in the database so all workers share them."""

    enroll_per_minute: float = Field(10, gt=0, description="Enrollment attempts refilled a minute.")
    enroll_burst: int = Field(10, ge=1, description="Enrollment attempts allowed at once.")
    auth_failures_per_minute: float = Field(
        20, gt=0, description="Failed token checks refilled a minute before 429."
    )
    auth_failures_burst: int = Field(30, ge=1, description="Failed token checks allowed at once.")
    refusal_audit_window_s: float = Field(
        60,
        gt=0,
        le=86400,
        description="Refusals from one address in this window are audited as the first one "
        "and one summary of the rest.",
    )
    duress_per_minute: float = Field(
        30, gt=0, description="Duress signals refilled a minute (a laptop retries offline ones)."
    )
    duress_burst: int = Field(30, ge=1, description="Duress signals allowed at once.")
    checker_filing_per_minute: float = Field(
        10, gt=0, description="Second checkers' key filings (each with a code) refilled a minute."
    )
    checker_filing_burst: int = Field(10, ge=1, description="Key filings allowed at once.")


class DatabaseSettings(_Section):
    """Connection pool settings."""

    pool_size: int = Field(10, ge=1, le=200, description="Connections kept open per worker.")
    max_overflow: int = Field(20, ge=0, le=500, description="Extra connections under load.")
    sqlite_busy_timeout_s: float = Field(30, gt=0, description="How long SQLite waits for a lock.")


class BreakGlassSettings(_Section):
    """Emergency access to a patient outside a clinician's assignment (README, Break-glass)."""

    max_minutes: int = Field(
        60,
        ge=5,
        le=12 * 60,
        description="How long a break-glass access lasts at most (a request may ask less).",
    )


class ApprovalSettings(_Section):
    """Remote approvals and telephone orders (README "Remote approvals")."""

    request_ttl_min: float = Field(
        30,
        gt=0,
        le=7 * 24 * 60,
        description="A request for a prescriber's or supervisor's decision expires this "
        "many minutes after it reaches the clinic; an answer signed later is refused.",
    )
    long_poll_max_s: float = Field(
        25,
        ge=0,
        le=120,
        description="How long a laptop's wait for an answer may hold one request open.",
    )
    cosign_deadline_hours: float = Field(
        48,
        gt=0,
        le=24 * 30,
        description="A telephone order not co-signed by its prescriber this many hours "
        "after it was given is escalated to the supervisor and shown on the board.",
    )


class ServerSettings(_Section):
    """Every clinic server setting."""

    database_url: str = Field(
        "sqlite:///fieldapp-server/server.db",
        description="SQLAlchemy URL: sqlite:///file or postgresql+psycopg://user@host/db.",
    )
    clinic_timezone: str = Field("UTC", description="The zone that decides the clinic's today.")
    max_body_bytes: int = Field(2_000_000, ge=1024, description="Larger request bodies get 413.")
    max_push_items: int = Field(1000, ge=1, le=100_000, description="Records per push at most.")
    pull_page_size: int = Field(500, ge=1, le=10_000, description="Records per pull page at most.")
    pull_days_ahead: int = Field(2, ge=0, le=60, description="Days after today a pull covers.")
    token_ttl_days: float = Field(180, gt=0, le=3650, description="Device token lifetime.")
    enroll_code_ttl_min: float = Field(15, gt=0, le=1440, description="Enrollment code lifetime.")
    enroll_code_max_tries: int = Field(
        5, ge=1, le=20, description="Wrong tries before a code dies."
    )
    checker_code_ttl_min: float = Field(
        30,
        gt=0,
        le=1440,
        description="A second checker's one-time code lives this long: the laptop they enrol "
        "on must file their key (at once, or at its next sync) within it.",
    )
    checker_code_max_tries: int = Field(
        5, ge=1, le=20, description="Wrong tries before a checker code dies."
    )
    threads_per_worker: int = Field(
        2, ge=1, le=200, description="Requests one worker serves at a time (its thread pool)."
    )
    accept_push_from_revoked: bool = Field(
        True, description="Let a revoked device hand in its unsynced work before it wipes."
    )
    rate_limits: RateLimits = RateLimits()
    break_glass: BreakGlassSettings = BreakGlassSettings()
    approvals: ApprovalSettings = ApprovalSettings()
    database: DatabaseSettings = DatabaseSettings()

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("clinic_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    @property
    def is_postgres(self) -> bool:
        """Whether the database is PostgreSQL (else SQLite)."""
        return self.database_url.startswith("postgresql")


def default_config_file() -> Path:
    """`config/server.toml` in `FIELDAPP_CONFIG_DIR` or beside the packages."""
    base = os.environ.get("FIELDAPP_CONFIG_DIR")
    folder = Path(base) if base else Path(__file__).resolve().parents[2] / "config"
    return folder / "server.toml"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if environ.get("FIELDAPP_DATABASE_URL"):
        data["database_url"] = environ["FIELDAPP_DATABASE_URL"]
    for name, value in environ.items():
        if not name.startswith("FIELDAPP_SERVER__"):
            continue
        path = name.removeprefix("FIELDAPP_SERVER__").lower().split("__")
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_server_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> ServerSettings:
    """Settings from the TOML file, the environment and explicit overrides, validated."""
    path = path or default_config_file()
    environ = os.environ if environ is None else environ
    data = read_toml(path, ServerConfigError)
    try:
        ServerSettings.model_validate(data)
    except ValidationError as exc:
        raise ServerConfigError(f"{path}: {describe_validation_error(exc)}") from None
    env = _env_overrides(environ)
    source = "environment (FIELDAPP_DATABASE_URL / FIELDAPP_SERVER__*)" if env else str(path)
    data = _merge(data, env)
    data = _merge(data, {k: v for k, v in overrides.items() if v is not None})
    try:
        return ServerSettings.model_validate(data)
    except ValidationError as exc:
        raise ServerConfigError(f"{source}: {describe_validation_error(exc)}") from None
