"""Pilot helpers shared by the TUI tests."""

from __future__ import annotations

from decimal import Decimal

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


def later(app: object, clock: object, minutes: int) -> None:
    """Time passes with the clinician active (no idle lock)."""
    for _ in range(minutes):
        clock.advance(minutes=1)  # type: ignore[attr-defined]
        app.services.note_activity()  # type: ignore[attr-defined]


async def fill(pilot: Pilot[object], values: dict[str, str]) -> None:
    """Type values into the current step screen's fields (as if typed)."""
    screen = pilot.app.screen
    fields = screen.fields()  # type: ignore[attr-defined]
    for key, text in values.items():
        fields[key].value = text
    await pilot.pause()


async def open_first_visit(pilot: Pilot[object]) -> None:
    """From today's list, open the visit under the cursor."""
    await pilot.press("enter")
    await settle(pilot)


async def check_in(pilot: Pilot[object]) -> None:
    """En route, attest the location, check in."""
    await pilot.press("ctrl+r")
    await pilot.click("#evv-attest")
    await pilot.press("ctrl+s")
    await settle(pilot)


def carry_vial(app: object, vial: str = "V-001") -> None:
    """Take a 10 mg/mL, 20 mL vial out for the day (through the ledger service)."""
    app.services.ledger.carry(vial, Decimal(10), Decimal(20), "LOT-TEST")  # type: ignore[attr-defined]
