"""The command palette's provider: the app's main actions, searchable by name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider

from fieldapp.tui.screens.base import ClosesOnlyItself

if TYPE_CHECKING:
    from fieldapp.tui.app import FieldApp

ACTIONS = (
    ("Today's visits", "The day's visits in route order", "today"),
    ("Start of shift", "Credentials from the clinic; the kit, checked once a shift", "shift"),
    ("Controlled substances", "Vials, draws, waste and the day's reconciliation", "ledger"),
    # The screen's own action: a visit's patient, or the visit highlighted on today's list.
    (
        "Patient history",
        "Earlier infusions and the course of the visit's patient",
        "screen.history",
    ),
    ("Sync", "Send records and fetch changes; shows set-aside records", "sync"),
    ("Lone-worker check-in", "Tell the office you are safe", "lone_check_in"),
    (
        "Break-glass: see a patient not yours",
        "A colleague's patient in an emergency: needs the server, audited, supervisor told",
        "break_glass",
    ),
    (
        "Break-glass: open the patient",
        "The patient of the access that holds now",
        "break_glass_open",
    ),
    ("Lock", "Save drafts and lock the store", "lock"),
    ("Settings: PIN and duress", "Quick-unlock PIN; what the duress key shows", "settings"),
    ("Help: keys", "Every key and its binding id", "help"),
    ("Duress", "Send an emergency alert now", "duress"),
)


class MainActions(Provider):
    """Offers the main actions of the app in the command palette."""

    @property
    def field_app(self) -> FieldApp:
        """The app, typed."""
        return cast("FieldApp", self.app)

    async def discover(self) -> Hits:
        """Every main action when the palette opens empty."""
        for title, help_text, action in ACTIONS:
            yield DiscoveryHit(title, partial(self.field_app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        """Actions whose title matches the query."""
        matcher = self.matcher(query)
        for title, help_text, action in ACTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.field_app.run_action, action),
                    help=help_text,
                )


class FieldPalette(ClosesOnlyItself, CommandPalette, inherit_bindings=False):
    """Textual's palette, closing only itself (an Enter queued before F2 took it away
    would otherwise close the screen under it), without page up and down: its short list
    needs neither, and Textual's option list raises on them while it is being refilled
    (found by the monkey)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        b
        for b in CommandPalette.BINDINGS
        if not (isinstance(b, Binding) and b.key in ("pageup", "pagedown"))
    ]
