"""Each screen's own stylesheet (fieldapp/tui/styles/) is read for every screen whose widgets
its rules name, and the launch's stylesheet names none of the same things."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from textual.screen import Screen

import fieldapp.tui.screens as screens_package
from fieldapp.tui.styles import FOLDER

TUI = Path(screens_package.__file__).resolve().parents[1]
SELECTOR_NAME = re.compile(r"[#.]([a-z][a-z0-9-]*)")
"""An id or class in a selector (not the `-state` classes widgets set on themselves)."""
USED_NAME = re.compile(r'(?:\bid|\bclasses)="([^"]+)"')


def selector_names(css: str) -> set[str]:
    """Ids and classes the rules' selectors name."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    return {name for head in re.findall(r"([^{}]+)\{", css) for name in SELECTOR_NAME.findall(head)}


def used_names(source: str) -> set[str]:
    """Ids and classes a module gives its widgets."""
    return {name for found in USED_NAME.findall(source) for name in found.split()}


def stylesheets() -> dict[str, set[str]]:
    return {path.name: selector_names(path.read_text("utf-8")) for path in FOLDER.glob("*.tcss")}


def test_a_screen_reads_every_stylesheet_that_styles_its_widgets() -> None:
    files = stylesheets()
    field_names = used_names((TUI / "widgets" / "field.py").read_text("utf-8"))
    checked = 0
    for info in pkgutil.iter_modules(screens_package.__path__):
        module = importlib.import_module(f"{screens_package.__name__}.{info.name}")
        source = inspect.getsource(module)
        used = used_names(source)
        if "fieldapp.tui.widgets.field import" in source:
            used |= field_names
        listed = {
            name
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Screen) and cls.__module__ == module.__name__
            for name in getattr(cls, "STYLES", ())
        }
        for file, names in files.items():
            if used & names:
                assert file in listed, (info.name, file, sorted(used & names))
                checked += 1
    assert checked >= len(files)  # every file is some screen's


def test_the_launch_stylesheet_names_nothing_a_screen_s_own_does() -> None:
    launch = selector_names((TUI / "fieldapp.tcss").read_text("utf-8"))
    for file, names in stylesheets().items():
        assert not launch & names, (file, sorted(launch & names))
