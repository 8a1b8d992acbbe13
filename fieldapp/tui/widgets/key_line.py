"""The keys of the current screen on one line: a light stand-in for Textual's Footer.

Textual's Footer builds a widget per key and rebuilds them on every focus change; on a
screen opened at a key press that cost most of the time to the first frame. This is one
Static, rewritten when the screen's bindings change.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class KeyLine(Static):
    """Shows `key description` for each shown binding of the screen, then the palette key."""

    _drawn: Text | None = None

    def on_mount(self) -> None:
        """Follow the screen's bindings."""
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        """Stop following."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, _screen: object) -> None:
        """Redraw the line from the active bindings."""
        text = Text(no_wrap=True, overflow="ellipsis")
        seen: set[str] = set()
        active = self.screen.active_bindings
        for _node, binding, enabled, _tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            text.append(f" {self.app.get_key_display(binding)} ", "bold reverse")
            text.append(f" {binding.description} ", "dim" if not enabled else "")
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            text.append(f" {self.app.get_key_display(palette[1])} ", "bold reverse")
            text.append(" palette")
        if text == self._drawn:
            return  # bindings are re-announced on every key press; most change nothing
        # One line that never wraps: its height cannot change, so no layout of the screen
        # (on a long form a layout costs more than the key press it follows).
        self.update(text, layout=self._drawn is None)
        self._drawn = text
