"""The dialog that asks the prescriber to release a hold, and waits for their signed answer.

It shows what goes to the clinic (the rules, values and thresholds, nothing else), sends
the request and waits on it (the clinic holds each wait open up to its long-poll limit,
then the dialog asks again) until the answer comes, the request expires or the clinician
closes it. The request stays in the clinic's queue either way; the answer is checked by
the checklist screen before it counts.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from fieldapp.errors import FieldAppError
from fieldapp.services.approvals import ApprovalLink, PendingRequest
from fieldapp.tui.screens.base import ClosesOnlyItself
from sync.approvals import RequestPublic
from sync.errors import SyncError

WAIT_S = 20.0  # one wait; the clinic caps it at its own long-poll limit


def facts_text(pending: PendingRequest) -> str:
    """The request's facts as lines: rule, measured, threshold, setting."""
    lines = [pending.request.facts.question]
    for rule in pending.request.facts.rules:
        parts = [rule.rule_id]
        if rule.measured is not None:
            parts.append(f"measured {rule.measured}")
        if rule.threshold is not None:
            parts.append(f"limit {rule.threshold}")
        if rule.setting:
            parts.append(f"({rule.setting})")
        lines.append("· " + " ".join(parts))
    return "\n".join(lines)


class RemoteApprovalDialog(ClosesOnlyItself, ModalScreen[RequestPublic | None]):
    """Returns the clinic's answered copy of the request, or None when closed first."""

    STYLES: ClassVar[tuple[str, ...]] = ("forms.tcss",)
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="approval-cancel")
    ]

    def __init__(
        self,
        link: ApprovalLink,
        pending: PendingRequest,
        title: str = "Ask the prescriber to release the hold",
    ) -> None:
        super().__init__()
        self.link, self.pending, self.title_text = link, pending, title

    def compose(self) -> ComposeResult:
        """What is sent, where it stands, and a close button."""
        with Vertical(id="approval-box", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(facts_text(self.pending), id="approval-facts", markup=False)
            yield Static("Sending…", id="approval-status", markup=False)
            with Horizontal(classes="step-buttons"):
                yield Button("Close (the request stays queued)", id="approval-cancel")

    def on_mount(self) -> None:
        """Send and wait in the background."""
        self.ask()

    def status(self, text: str) -> None:
        """Say where the request stands."""
        self.query_one("#approval-status", Static).update(text)

    @work(exclusive=True, group="approval")
    async def ask(self) -> None:
        """Send the request, then wait for its answer, one long poll at a time."""
        try:
            found = await self.link.send(self.pending)
            while found.status == "pending":
                self.status(
                    f"In the {found.role}'s queue, waiting for the answer "
                    f"(expires {found.expires_at:%H:%M} UTC)…"
                )
                found = await self.link.wait(self.pending, WAIT_S)
        except (SyncError, FieldAppError) as exc:
            self.status(str(exc))
            return
        if found.status == "expired":
            self.status("The request expired unanswered: ask again, or take a telephone order.")
            return
        self.dismiss(found)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close: the request stays in the clinic's queue."""
        if event.button.id == "approval-cancel":
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without waiting further."""
        self.dismiss(None)
