"""Break-glass grants this laptop holds: which patient, until when (`sync.break_glass`).

The grant itself lives on the server; the laptop keeps a sealed copy (it names a patient)
so the app can show the patient under a "break-glass, expires HH:MM" banner, and stop
showing them once it has ended even before the next sync. The patient's record comes and
goes with the pull (the server puts it in scope while the grant holds and reports it
removed after); `forget_break_glass` drops copies of grants that have ended.
"""

from __future__ import annotations

import json
from datetime import datetime

from fieldapp.store.core import guarded
from fieldapp.store.outbox import OutboxMixin
from sync.break_glass import Grant

_GRANTS = "break_glass_grants"


class BreakGlassMixin(OutboxMixin):
    """The grants this clinician was given, sealed like the other secrets."""

    @guarded
    def break_glass_grants(self) -> list[Grant]:
        """Every grant kept, newest first."""
        raw = self._get_secret(self._require_unlocked(), _GRANTS)
        grants = [Grant.model_validate(item) for item in json.loads(raw)] if raw else []
        return sorted(grants, key=lambda g: g.granted_at, reverse=True)

    @guarded
    def keep_break_glass(self, grant: Grant) -> None:
        """Keep a grant the clinic gave (again: replaced by id)."""
        kept = [g for g in self.break_glass_grants() if g.id != grant.id] + [grant]
        self._save_grants(kept)

    @guarded
    def forget_break_glass(self, now: datetime) -> int:
        """Drop the copies of grants ended by `now`; returns how many."""
        kept = self.break_glass_grants()
        live = [g for g in kept if g.expires_at > now]
        if len(live) != len(kept):
            self._save_grants(live)
        return len(kept) - len(live)

    def _save_grants(self, grants: list[Grant]) -> None:
        body = json.dumps([g.model_dump(mode="json") for g in grants]).encode()
        cipher = self._require_unlocked()
        with self._write() as conn:
            self._put_secret(conn, cipher, _GRANTS, body)
