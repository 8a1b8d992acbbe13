"""A table whose columns fit the width it has, so the columns that matter stay on screen.

A column either keeps its whole width (`shrink_to=None`: a status, a time, an amount) or
gives way down to `shrink_to` cells (a name, an address); a value too long for its column
ends in "…", never cut silently. Columns are laid out again when the table is resized.
Cells are plain text (or `rich.text.Text`), never markup: a "[" in a name is a "[".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import DataTable

Cell = str | Text
ELLIPSIS = "…"


@dataclass(frozen=True)
class Col:
    """One column: its label, how narrow it may become (None: never narrower), and when
    it gives way (columns of a lower `last` give way first)."""

    label: str
    shrink_to: int | None = None
    last: int = 0


def elide(cell: Cell, width: int) -> Text:
    """The cell as Text, ending in "…" when it is wider than `width`."""
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    if cell_len(text.plain) > width:
        text.truncate(max(1, width), overflow="ellipsis")
    return text


def fit_widths(cols: Sequence[Col], natural: Sequence[int], room: int) -> list[int]:
    """Each column's width: natural when all fit; else the shrinkable ones give way, the
    lowest `last` first, in proportion to what each can spare (whole ones never do)."""
    widths = list(natural)
    for rank in sorted({c.last for c in cols}):
        excess = sum(widths) - room
        if excess <= 0:
            break
        spare = {
            i: n - c.shrink_to
            for i, (c, n) in enumerate(zip(cols, natural, strict=True))
            if c.last == rank and c.shrink_to is not None and n > c.shrink_to
        }
        total = sum(spare.values())
        if total == 0:
            continue
        take = min(excess, total)
        for i, can in spare.items():
            widths[i] -= (can * take) // total
        leftover = sum(widths) - room
        for i, can in spare.items():  # rounding: the last few cells, one column at a time
            while leftover > 0 and widths[i] > natural[i] - can:
                widths[i] -= 1
                leftover -= 1
    return widths


class FitTable(DataTable[Text]):
    """A `DataTable` filled through `show`, fitted to its width on every resize."""

    def __init__(self, cols: Sequence[Col], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cols = list(cols)
        self._rows: list[tuple[str, list[Cell]]] = []
        self._fitted_for = -1

    def on_mount(self) -> None:
        """The columns, before any row arrives."""
        self._layout()

    def show(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Replace every row (key, cells), keeping the cursor on the same row number."""
        self._rows = [(key, list(cells)) for key, cells in rows]
        self._layout(force=True)

    def on_resize(self, event: events.Resize) -> None:
        """A new width: lay the columns out again."""
        self._layout()

    def _room(self) -> int:
        # The vertical scrollbar's cells are kept free: it comes and goes with the rows.
        padding = 2 * self.cell_padding * len(self.cols)
        return self.size.width - self.styles.scrollbar_size_vertical - padding

    def _layout(self, force: bool = False) -> None:
        room = self._room()
        if not force and room == self._fitted_for:
            return
        self._fitted_for = room
        natural = [
            max([cell_len(c.label)] + [cell_len(_plain(r[1][i])) for r in self._rows])
            for i, c in enumerate(self.cols)
        ]
        widths = fit_widths(self.cols, natural, room) if room > 0 else natural
        cursor = self.cursor_row
        self.clear(columns=True)
        for col, width in zip(self.cols, widths, strict=True):
            self.add_column(elide(col.label, width), width=width)
        for key, cells in self._rows:
            self.add_row(*(elide(c, w) for c, w in zip(cells, widths, strict=True)), key=key)
        if self._rows:
            self.move_cursor(row=min(max(cursor, 0), len(self._rows) - 1), animate=False)


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell
