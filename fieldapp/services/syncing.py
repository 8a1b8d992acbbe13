"""What the app knows about sync: the client (once enrolled), the last round, set-aside records.

The sync client itself (`sync.client.SyncClient`) does the network work; the app runs it
in an async worker. This module keeps the facts the sync screen and the status line
show, and turns each set-aside record's terse server reason into a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.outbox import SetAsideItem

Progress = Callable[[Any], None]
SyncFactory = Callable[[Progress], Any]
"""Builds a sync client reporting progress to the callback, or None when not enrolled."""

# The fields of a record that carry a prescriber's or supervisor's signed answer (the
# clinic names the field first when it sets such a record aside).
ANSWER_FIELDS = ("approval.answer:", "cap_override:", "remote_check:", "ruling:")
KIND_WORDS = {
    "status": "status event",
    "checklist": "checklist",
    "vitals": "vitals reading",
    "dose_order": "dose order",
    "dose_admin": "dose given",
    "substance": "ledger entry",
    "day_close": "closed ledger day",
    "recovery": "recovery assessment",
    "note": "signed note",
    "addendum": "addendum",
    "incident": "incident",
    "shift_check": "start-of-shift check",
}


@dataclass
class SyncState:
    """The running or last sync round, for the sync screen."""

    configured: bool = False
    why_not: str = (
        "Sync is not configured: enrol this laptop with `fieldapp enroll --server URL --code CODE`."
    )
    running: bool = False
    phase: str = "idle"
    done: int = 0
    total: int = 0
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    sent: dict[str, int] = field(default_factory=dict)
    pulled: int = 0
    pending: int = 0
    set_aside: int = 0
    error: str | None = None
    offline_since: datetime | None = None
    """When the first round failed after the last good one (None while in touch)."""
    manual: bool = False
    """Whether the running (or last) round was asked for; else the app's own timer."""
    rounds: int = 0
    automatic_rounds: int = 0
    sent_in_session: dict[str, int] = field(default_factory=dict)
    """Every round's sends added up: a later round with nothing to send hides none."""
    last_sent_at: datetime | None = None
    last_sent_manual: bool = False

    def begin(self, now: datetime, manual: bool = False) -> None:
        """A round starts (`manual`: the clinician asked for it)."""
        self.running, self.phase, self.done, self.total = True, "push", 0, 0
        self.message, self.error, self.started_at = "Starting…", None, now
        self.manual = manual

    def progress(self, event: Any) -> None:
        """A `SyncProgress` from the client."""
        self.phase, self.message = event.phase, event.message
        self.done, self.total = event.done, max(event.total, event.done)

    def finish(self, report: Any, now: datetime) -> None:
        """A round ended well, with its `SyncReport`."""
        self.running, self.phase, self.finished_at = False, "done", now
        self.sent, self.pulled = dict(report.pushed), report.pulled
        self.pending, self.set_aside = report.pending, report.set_aside
        self.message = report.summary()
        self.offline_since = None
        self.rounds += 1
        self.automatic_rounds += 0 if self.manual else 1
        for status, count in self.sent.items():
            self.sent_in_session[status] = self.sent_in_session.get(status, 0) + count
        if any(self.sent.values()):
            self.last_sent_at, self.last_sent_manual = now, self.manual

    @property
    def how(self) -> str:
        """How the running or last round started, in a word."""
        return "manual" if self.manual else "automatic"

    def fail(self, error: BaseException, now: datetime) -> None:
        """A round failed; the records wait in the outbox."""
        self.running, self.phase, self.finished_at = False, "error", now
        self.error = str(error) or type(error).__name__
        self.offline_since = self.offline_since or now

    def sent_text(self) -> str:
        """What the last round and the whole session sent, automatic rounds included."""
        if not self.rounds:
            return "Nothing sent yet in this session."
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.sent.items()) if n)
        last = f"Sent: {parts}." if parts else "Nothing new to send."
        lines = [
            f"Last round ({self.how}): {last} Received {self.pulled} records. "
            f"{self.pending} still waiting."
        ]
        total = sum(self.sent_in_session.values())
        rounds = f"{self.rounds} round{'s' if self.rounds != 1 else ''}"
        if total and self.last_sent_at is not None:
            how = "manual" if self.last_sent_manual else "automatic"
            lines.append(
                f"This session: {total} records sent in {rounds} "
                f"({self.automatic_rounds} automatic); last sent {self.last_sent_at:%H:%M} ({how})."
            )
        else:
            lines.append(
                f"This session: nothing sent in {rounds} ({self.automatic_rounds} automatic)."
            )
        return "\n".join(lines)


def explain(item: SetAsideItem) -> str:
    """Why the server set a record aside, and what happens next, in plain words."""
    what = KIND_WORDS.get(item.kind, item.kind)
    reason = (item.reason or "").strip()
    if item.status == "conflict":
        return (
            f"The server already holds a different {what} with this id. Both copies are "
            "kept; the office decides which is right. Nothing to redo here."
        )
    if "not among your patients" in reason or "not among your assignments" in reason:
        return (
            f"The server says this {what} concerns a visit or patient no longer assigned "
            "to you (re-planned at the office?). It is kept for the office to review."
        )
    if reason.startswith("checker_signature:"):
        if "(unfiled)" in reason:
            return (
                f"The clinic does not hold the second checker's key this {what} was signed "
                "with (not filed yet, or not a colleague the clinic knows). It is kept for "
                "the office to review: call the clinic."
            )
        return (
            f"The second checker's signature on this {what} does not check out at the "
            "clinic. It is kept for the office to review: call the clinic."
        )
    if reason.startswith(ANSWER_FIELDS):
        return (
            f"The clinic does not recognise the signed answer this {what} carries as the "
            "one the prescriber or supervisor gave for it. It is kept for the office to "
            "review: call the clinic before relying on that approval."
        )
    if "larger than the server accepts" in reason:
        return f"This {what} is larger than the server accepts. It stays on this laptop."
    if reason.startswith("kind:"):
        return f"The server does not take this kind of record ({what}). Call the clinic."
    return f"The server refused this {what}: {reason or 'no reason given'}. Kept for review."
