"""Duress from anywhere, silently: written down at once, sent on its own credential.

Pressing the duress key never needs the store open. The signal (an id and the time, no
patient, no place) goes into the duress box on disk first, so neither a dead network nor
a crash loses it; then it is sent with the duress credential, which can post a duress
signal and nothing else, and retried until the clinic has it. When the store is open the
app also records the duress in the encrypted store (status event and incident, with the
visit), which the ordinary sync sends too.

The screen shows only the acknowledgement the clinician chose in settings: a few words an
onlooker would not read as a call for help (never "Duress sent."), or nothing at all.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fieldapp.errors import FieldAppError
from fieldapp.settings import SyncSettings
from fieldapp.store.duress_box import DuressBox
from sync.outbox import DeviceIdentity, DuressSignal

ACKNOWLEDGEMENTS = ("Saved.", "Synced.", "OK", "Reminder set.", "Noted.", "")
"""What the screen may show when the duress key is pressed; "" shows nothing."""
DEFAULT_ACKNOWLEDGEMENT = ACKNOWLEDGEMENTS[0]
NOT_READY = "Not available."
"""Shown instead when a locked laptop has no duress credential: nothing could be sent."""


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt did."""

    delivered: int
    left: int
    error: str | None = None


class DuressChannel:
    """The duress box, and the sending of what is in it."""

    def __init__(self, box: DuressBox, settings: SyncSettings, http: Any = None) -> None:
        self.box = box
        self.settings = settings
        self._http = http
        self._own_http = http is None

    @classmethod
    def beside(cls, store_path: Path, settings: SyncSettings) -> DuressChannel:
        """The channel of the store at `store_path`."""
        return cls(DuressBox.beside(store_path), settings)

    # -- state ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether a duress credential is at hand (signals can be sent)."""
        return self.box.read().credential is not None

    @property
    def acknowledgement(self) -> str:
        """The words the duress key shows ("" for nothing)."""
        chosen = self.box.read().acknowledgement
        return chosen if chosen in ACKNOWLEDGEMENTS else DEFAULT_ACKNOWLEDGEMENT

    def choose_acknowledgement(self, text: str) -> None:
        """Keep the clinician's choice (one of `ACKNOWLEDGEMENTS`)."""
        if text not in ACKNOWLEDGEMENTS:
            raise FieldAppError("Choose one of the offered acknowledgements.")
        self.box.choose_acknowledgement(text)

    def pending(self) -> tuple[DuressSignal, ...]:
        """Signals not yet delivered, oldest first."""
        return self.box.read().queue

    # -- pressing and sending ------------------------------------------------------------

    def press(self, now: datetime) -> DuressSignal:
        """The duress key: write the signal down (sending is `deliver`'s job)."""
        signal = DuressSignal(uuid.uuid4(), now)
        self.box.enqueue(signal)
        return signal

    def _client(self) -> Any:
        if self._http is None:
            from sync.client import make_http_client

            self._http = make_http_client(self.settings)
        return self._http

    async def deliver(self) -> Delivery:
        """Send every waiting signal; stop at the first failure (they stay in the box)."""
        from sync.client import SyncError
        from sync.duress import post_signal

        credential = self.box.read().credential
        waiting = self.pending()
        if credential is None:
            return Delivery(0, len(waiting), "no duress credential on this laptop")
        done = 0
        for signal in waiting:
            try:
                await post_signal(self._client(), credential, signal, self.settings.timeout_s)
            except SyncError as exc:
                return Delivery(done, len(waiting) - done, str(exc))
            self.box.delivered(signal.id)
            done += 1
        return Delivery(done, 0)

    async def ensure_credential(self, identity: DeviceIdentity | None) -> bool:
        """Ask the clinic for a duress credential when this laptop has none; True if one is
        at hand afterwards."""
        from sync.client import SyncError
        from sync.duress import request_credential

        if self.ready:
            return True
        if identity is None:
            return False
        try:
            credential = await request_credential(self._client(), identity, self.settings.timeout_s)
        except SyncError:
            return False
        self.box.keep_credential(credential.server_url, credential.device_id, credential.token)
        return True

    async def close(self) -> None:
        """Close the connections this channel opened."""
        if self._own_http and self._http is not None:
            with contextlib.suppress(Exception):  # best effort at exit
                await self._http.aclose()
            self._http = None
