"""Service tests reuse the TUI fixtures: a real store with the demo day, a manual clock."""

from tests.tui.conftest import app, clock, settings, store, template_store

__all__ = ["app", "clock", "settings", "store", "template_store"]
