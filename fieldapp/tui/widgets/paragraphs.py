"""Text for a long panel whose lines are wrapped and styled one at a time, and kept.

The checklist's rule panel holds twenty-odd results, over a hundred lines once wrapped,
and a keystroke changes one or two of them. Textual wraps and styles the whole text
again on every change (4 ms) and measures it again to see whether the panel's height
changed (2 ms more). `Paragraphs` renders exactly what the text would, line for line and
style for style, but a line it rendered for the previous text, at the same place and
width, is taken from the last render.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from textual.content import Content
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions


class Kept:
    """What the last render of a panel made, for the next one (one per panel)."""

    def __init__(self) -> None:
        self.strips: dict[Hashable, list[Strip]] = {}
        self.heights: dict[Hashable, int] = {}


class Paragraphs(Content):
    """`content`, rendered line by line with the lines of the last render kept in `kept`."""

    def __init__(self, content: Content, kept: Kept) -> None:
        super().__init__(
            content.plain, list(content.spans), content.cell_length, strip_control_codes=False
        )
        self._kept = kept

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        """The strips the whole text would give, most of them from the last render."""
        if not width or options.selection is not None or options.post_style is not None:
            return super().render_strips(width, height, style, options)
        get_rule = options.rules.get
        layout: tuple[Any, ...] = (
            width,
            get_rule("text_align", "left"),
            get_rule("text_overflow", "fold"),
            get_rule("text_wrap", "wrap"),
            get_rule("line_pad", 0),
            style,
        )
        kept = self._kept.strips
        used: dict[Hashable, list[Strip]] = {}
        strips: list[Strip] = []
        for y, line in enumerate(self.split(allow_blank=True)):
            key = (y, line.plain, tuple(line.spans), layout)
            found = kept.get(key)
            if found is None:
                # Rendered below `y` blank lines: each piece keeps the line and column it
                # has in the whole text (what a mouse selection reads back).
                placed = Content("\n" * y) + line if y else line
                found = Content.render_strips(placed, width, None, style, options)[y:]
            used[key] = found
            strips.extend(found)
        self._kept.strips = used
        return strips if height is None else strips[:height]

    def get_height(self, rules: RulesMap, width: int) -> int:
        """The lines the whole text takes at `width`, counted line by line (kept)."""
        get_rule = rules.get
        layout = (
            width,
            get_rule("text_overflow", "fold"),
            get_rule("text_wrap", "wrap"),
            get_rule("line_pad", 0),
        )
        kept = self._kept.heights
        used: dict[Hashable, int] = {}
        total = 0
        for line in self.plain.split("\n"):
            key = (line, layout)
            found = kept.get(key)
            if found is None:
                found = Content(line).get_height(rules, width)
            used[key] = found
            total += found
        self._kept.heights = used
        return total
