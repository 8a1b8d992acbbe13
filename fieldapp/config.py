"""Loading the clinic's TOML files with one clear message per mistake.

Every config loader in the app goes through `load_toml` and `validate`, so a bad file
always stops with the file, the key and what is wrong, never with a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fieldapp.errors import ConfigError
from sync.tomlfile import describe_validation_error, read_toml

ModelT = TypeVar("ModelT", bound=BaseModel)

__all__ = [
    "config_dir",
    "deep_merge",
    "describe_validation_error",
    "load_toml",
    "validate",
]


def config_dir() -> Path:
    """The folder of shipped config: `FIELDAPP_CONFIG_DIR`, or `config/` beside the packages."""
    override = os.environ.get("FIELDAPP_CONFIG_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "config"


def load_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file, turning every failure into a `ConfigError` naming the file."""
    return read_toml(path, ConfigError)


def validate(
    model: type[ModelT], data: dict[str, Any], source: Path | str, prefix: str = ""
) -> ModelT:
    """Validate `data` against `model`, or raise `ConfigError` naming source, key and problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc, prefix)}") from None


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new dict: `override` laid over `base`, tables merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
