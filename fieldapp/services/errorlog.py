"""The app's local error log: one entry per unexpected error, with no patient data in it.

An entry holds the time, a short reference the screen shows, the screen it happened on,
the exception's type and where in the code it was raised (file, line, function), for
each exception in its chain. Never the exception's message, its local variables or the
source line: any of those can hold a value typed or read from the store.
"""

from __future__ import annotations

import os
import secrets
import traceback
from datetime import datetime
from pathlib import Path

MAX_BYTES = 1_000_000
"""Past this size the log moves to `<name>.old` (one generation kept)."""


def error_log_path(store_path: Path) -> Path:
    """The log beside the store: `c01.store` logs to `c01.errors.log`."""
    return store_path.with_name(f"{store_path.stem}.errors.log")


def describe(error: BaseException) -> list[str]:
    """The exception chain as type names and code places only."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines.append(f"  {type(current).__module__}.{type(current).__qualname__}")
        for frame in traceback.extract_tb(current.__traceback__):
            lines.append(f"    {frame.filename}:{frame.lineno} in {frame.name}")
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return lines


def record(path: Path, error: BaseException, where: str, now: datetime) -> str:
    """Append an entry for `error` (raised on screen `where`) and return its reference."""
    reference = secrets.token_hex(3)
    entry = "\n".join([f"{now.isoformat()} ref {reference} on {where}", *describe(error), ""])
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > MAX_BYTES:
        path.replace(path.with_name(path.name + ".old"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as log:
        log.write(entry)
    return reference
