"""Reading the clinic's TOML files with one clear message per mistake.

Shared by the device app and the clinic server (which never imports `fieldapp`), so a
bad file reads the same everywhere: the file, the key, and what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """One TOML file as a dict; any failure raises `error` naming the file."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """Each problem of a pydantic error as `key.path: what is wrong (got value)`."""
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if prefix:
            key = f"{prefix}.{key}" if key else prefix
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        got = error.get("input")
        hidden = isinstance(got, dict | list) or error["type"] == "missing"
        problems.append(f"{key or '(top)'}: {message}{'' if hidden else f' (got {got!r})'}")
    return "; ".join(problems)
