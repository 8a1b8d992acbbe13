"""The duress box: what a locked laptop needs to call for help, kept outside the store.

A small JSON file beside the store (`<store>.duress`, mode 0600) holds the duress
credential (server, device id, token), the acknowledgement the clinician chose, and the
signals not yet delivered. Nothing in it is about a patient: ids, times, one sentence, and
a token that can post a duress signal and nothing else (`sync/server/duress.py`). It is
readable without the passphrase on purpose: that is what lets the lock screen call for
help. Each change is written whole to a temporary file, synced, and renamed over the old
one, so a crash leaves the old box or the new one; the store's wipe deletes it too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fieldapp.errors import StoreError
from fieldapp.store.db import fsync_dir
from sync.outbox import DuressCredential, DuressSignal

SUFFIX = ".duress"
log = logging.getLogger("fieldapp.duress")


@dataclass(frozen=True)
class DuressState:
    """The box's content."""

    credential: DuressCredential | None = None
    acknowledgement: str | None = None
    queue: tuple[DuressSignal, ...] = ()


def box_path(store_path: Path) -> Path:
    """The duress box of the store at `store_path`."""
    return store_path.with_name(store_path.name + SUFFIX)


def remove_beside(store_path: Path) -> None:
    """Delete the store's duress box (part of a wipe)."""
    with contextlib.suppress(FileNotFoundError):
        box_path(store_path).unlink()


class DuressBox:
    """Reads and writes the duress box file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, store_path: Path) -> DuressBox:
        """The box of the store at `store_path`."""
        return cls(box_path(store_path))

    def read(self) -> DuressState:
        """The box; empty when there is none, or when it cannot be read (logged, no content)."""
        try:
            raw = json.loads(self.path.read_bytes())
            return _state(raw)
        except FileNotFoundError:
            return DuressState()
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("the duress box at %s cannot be read; it is treated as empty", self.path)
            return DuressState()

    def write(self, state: DuressState) -> None:
        """Replace the box atomically and durably (mode 0600)."""
        body = json.dumps(_raw(state), sort_keys=True).encode()
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreError(f"The duress box could not be written ({exc.strerror}).") from None

    def keep_credential(self, server_url: str, device_id: str, token: str) -> None:
        """Keep a new duress credential (replacing the last one)."""
        state = self.read()
        self.write(replace(state, credential=DuressCredential(server_url, device_id, token)))

    def enqueue(self, signal: DuressSignal) -> None:
        """Add a signal to deliver."""
        state = self.read()
        self.write(replace(state, queue=(*state.queue, signal)))

    def delivered(self, signal_id: uuid.UUID) -> None:
        """A signal reached the clinic: forget it."""
        state = self.read()
        self.write(replace(state, queue=tuple(s for s in state.queue if s.id != signal_id)))

    def choose_acknowledgement(self, text: str) -> None:
        """The acknowledgement the duress key shows from now on ("" shows nothing)."""
        self.write(replace(self.read(), acknowledgement=text))


def _raw(state: DuressState) -> dict[str, Any]:
    credential = state.credential
    return {
        "credential": None
        if credential is None
        else {
            "server_url": credential.server_url,
            "device_id": credential.device_id,
            "token": credential.token,
        },
        "acknowledgement": state.acknowledgement,
        "queue": [{"id": str(s.id), "at": s.at.isoformat()} for s in state.queue],
    }


def _state(raw: dict[str, Any]) -> DuressState:
    credential = raw.get("credential")
    ack = raw.get("acknowledgement")
    return DuressState(
        credential=DuressCredential(**credential) if credential else None,
        acknowledgement=str(ack) if ack is not None else None,
        queue=tuple(
            DuressSignal(uuid.UUID(s["id"]), datetime.fromisoformat(s["at"]))
            for s in raw.get("queue", [])
        ),
    )
