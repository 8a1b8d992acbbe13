"""Drafts of everything typed, saved encrypted in the store so nothing is lost.

Each form writes its fields here on every change; the book writes them straight through
to the store. If the store cannot take a draft right now (it locked underneath us), the
draft stays in memory, marked dirty, and `flush()` writes it at the next chance: the app
calls it before every lock and on quit.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fieldapp.errors import StoreError
from fieldapp.services.ports import StorePort


class DraftBook:
    """Write-through drafts keyed by form (`note:<visit id>`, `vitals:<visit id>`)."""

    def __init__(self, store: StorePort) -> None:
        self._store = store
        self._dirty: dict[str, dict[str, Any]] = {}

    def put(self, key: str, data: dict[str, Any]) -> None:
        """Remember `data` under `key` and save it now if the store allows."""
        self._dirty[key] = dict(data)
        self.flush()

    def get(self, key: str) -> dict[str, Any] | None:
        """The latest draft under `key`: unsaved changes first, then the store's copy."""
        if key in self._dirty:
            return dict(self._dirty[key])
        return self._store.load_draft(key)

    def discard(self, key: str) -> None:
        """Forget the draft (the form was submitted)."""
        self._dirty.pop(key, None)
        # Locked: nothing to delete now; the draft would only be offered again.
        with contextlib.suppress(StoreError):
            self._store.delete_draft(key)

    def flush(self) -> None:
        """Save every dirty draft (a draft the store refuses stays dirty, in memory)."""
        for key in list(self._dirty):
            try:
                self._store.save_draft(key, self._dirty[key])
            except StoreError:
                return
            del self._dirty[key]

    @property
    def unsaved(self) -> int:
        """How many drafts are waiting for the store."""
        return len(self._dirty)
