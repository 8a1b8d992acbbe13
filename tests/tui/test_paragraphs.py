"""The rule panel's text renders exactly as Textual renders it whole, reusing lines."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.style import Style
from textual.visual import RenderOptions

from fieldapp.tui.widgets.paragraphs import Kept, Paragraphs


def _options(**rules: object) -> RenderOptions:
    return RenderOptions(Style.parse, rules, None, None)  # type: ignore[arg-type]


def _panel(reasons: list[str]) -> Content:
    text = Text()
    for reason in reasons:
        text.append("● hold: ", "bold yellow")
        text.append(reason)
        text.append("  (protocol.readiness.rules.some_setting)", "dim")
        text.append("\n")
    return Content.from_rich_text(text)


REASONS = [
    "Fasting from solids not recorded",
    "Checklist pre_visit_safety@3: required items not answered: bp_first, bp_second, "
    "bp_minutes_apart, weight_measured_on, childbearing_potential, intoxicated",
    "PHQ-9 not completed",
    "",
    "Age 66 is 65 or over: BP every 10 min",
]


def _segments(strips: list) -> list:  # type: ignore[type-arg]
    # Text, style (with the offsets a selection reads) and control of every segment.
    return [list(strip) for strip in strips]


def test_lines_and_styles_are_those_of_the_whole_text() -> None:
    kept = Kept()
    for width in (35, 20, 80):
        for rules in ({}, {"text_overflow": "ellipsis"}, {"text_wrap": "nowrap"}):
            whole = _panel(REASONS)
            mine = Paragraphs(whole, kept)
            style = Style.parse("bold")
            expected = whole.render_strips(width, None, style, _options(**rules))
            assert _segments(mine.render_strips(width, None, style, _options(**rules))) == (
                _segments(expected)
            )
            assert mine.get_height(_options(**rules).rules, width) == whole.get_height(
                _options(**rules).rules, width
            )
            assert str(mine) == str(whole)


def test_a_changed_line_is_rendered_again_and_the_others_are_kept() -> None:
    kept = Kept()
    Paragraphs(_panel(REASONS), kept).render_strips(35, None, Style(), _options())
    before = dict(kept.strips)
    changed = [*REASONS[:2], "PHQ-9 completed", *REASONS[3:]]
    again = Paragraphs(_panel(changed), kept)
    strips = again.render_strips(35, None, Style(), _options())
    assert _segments(strips) == _segments(
        _panel(changed).render_strips(35, None, Style(), _options())
    )
    reused = [key for key in kept.strips if key in before]
    assert len(reused) == len(kept.strips) - 1  # only the changed line was rendered anew
