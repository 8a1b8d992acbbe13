"""Reports as tables: each a name (its CSV file), a title, columns and rows of text cells;
and the one way numbers and record ids are written in every report."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


def num(value: Decimal | None) -> str:
    """A decimal as the report prints it: up to 4 places, no trailing zeros."""
    if value is None:
        return ""
    text = f"{value.quantize(Decimal('0.0001')):f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ids(values: list[str]) -> str:
    """Record ids in one cell."""
    return " ".join(values)


@dataclass
class Section:
    """One table of the report: a name (its CSV file), a title and rows of text cells."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)

    def add(self, **cells: str) -> None:
        """Append a row (every column must be given)."""
        assert set(cells) == set(self.columns), set(cells) ^ set(self.columns)
        self.rows.append(cells)

    def shown_columns(self) -> list[str]:
        """The columns a page shows; record-id lists go to the page's trace table."""
        return [c for c in self.columns if not c.endswith("_ids") and c != "entry_ids"]

    def trace_columns(self) -> list[str]:
        """The columns that list record ids behind a figure."""
        return [c for c in self.columns if c not in self.shown_columns()]


@dataclass
class Report:
    """A report for people outside the clinic: a title, a header of facts, its tables, and
    the signatures the printed copy asks for."""

    title: str
    header: dict[str, str]
    sections: list[Section]
    signatures: list[str] = field(default_factory=list)

    def section(self, name: str) -> Section:
        """A section by name."""
        return next(s for s in self.sections if s.name == name)
