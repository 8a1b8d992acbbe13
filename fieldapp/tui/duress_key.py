"""The duress key, from any screen and the lock screen: silent but for the words the
clinician chose; the signal goes on its own credential (`fieldapp/services/duress.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fieldapp.errors import FieldAppError
from fieldapp.services import safety
from fieldapp.services.duress import DEFAULT_ACKNOWLEDGEMENT, NOT_READY, DuressChannel
from fieldapp.settings import Settings
from fieldapp.tui.deferred import deferred
from fieldapp.tui.lock import LockWall

log = logging.getLogger("fieldapp.tui")


class DuressKey(LockWall):
    """The app's duress key and the delivery of duress signals (`FieldApp` is built on it)."""

    duress: DuressChannel | None = None
    settings: Settings

    def push_soon(self) -> None:
        """Ask sync to send the outbox now (the app does it)."""
        raise NotImplementedError

    def action_duress(self) -> None:
        """Duress, from any screen and while locked: the signal is written down and sent on
        its own credential at once (retried until delivered), and recorded in the store
        when it is open. The screen shows only the acknowledgement chosen in settings."""
        now = self.services.clock.now()
        channel = self.duress
        if channel is not None:
            channel.press(now)
            self.send_duress()
        if self.locked:
            self.services.duress_while_locked.append(now)
            ready = channel is not None and channel.ready
            words = channel.acknowledgement if ready and channel else NOT_READY
        else:
            safety.duress(self.services, now)
            self.push_soon()
            words = channel.acknowledgement if channel is not None else DEFAULT_ACKNOWLEDGEMENT
        if words:
            self.notify(words, timeout=4, markup=False)

    def send_duress(self) -> None:
        """Deliver waiting duress signals now, and keep trying until none is left."""
        if self.duress is not None and self.duress.pending():
            self.run_worker(
                deferred(self._deliver_duress), group="duress", exclusive=True, exit_on_error=False
            )

    async def _deliver_duress(self) -> None:
        channel = self.duress
        assert channel is not None
        while True:
            delivery = await channel.deliver()
            if not delivery.left or not channel.ready:
                return  # without a credential nothing can go: the next sync may get one
            log.info("duress: %d signal(s) wait for the network", delivery.left)
            await asyncio.sleep(self.settings.sync.duress_retry_s)

    async def _after_sync(self) -> None:
        """The clinic answered: a duress credential if this laptop has none, and any
        waiting duress signal goes at once (the connection is back)."""
        channel = self.duress
        if channel is None:
            return
        with contextlib.suppress(FieldAppError):
            await channel.ensure_credential(self.services.store.device_identity())  # type: ignore[attr-defined]
        self.send_duress()
