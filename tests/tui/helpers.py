"""Pilot helpers shared by the TUI tests."""

from __future__ import annotations

from textual.pilot import Pilot

from tests.tui.conftest import PASSPHRASE


async def settle(pilot: Pilot[object]) -> None:
    """Let workers finish and the screen catch up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def unlock(pilot: Pilot[object], passphrase: str = PASSPHRASE) -> None:
    """Type the passphrase on the unlock screen and wait for today's list."""
    await pilot.press(*passphrase)
    await pilot.press("enter")
    await settle(pilot)
