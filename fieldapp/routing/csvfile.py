"""A dispatcher's CSV file, read whole: every way it cannot be read is a sentence naming the
file (never a traceback, never a cell's value)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from fieldapp.errors import PlanInputError


def csv_rows(path: Path, label: str) -> Iterator[list[str]]:
    """Each row's cells, the header first. `PlanInputError` when the file cannot be read,
    is not UTF-8 text, or is not CSV."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    except OSError as exc:
        raise PlanInputError(f"{label}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise PlanInputError(
            f'{label}: not UTF-8 text: save it as "CSV UTF-8" (a spreadsheet\'s plain '
            '"CSV" may use another encoding)'
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from reader
    except csv.Error:
        # line_num counts the lines read, the bad one included: its row when rows are lines.
        raise PlanInputError(
            f"{label} row {reader.line_num}: not readable as CSV (a cell far too long, or a "
            "quote or line break out of place?)"
        ) from None
