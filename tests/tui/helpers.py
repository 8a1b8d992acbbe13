"""Pilot helpers shared by the TUI tests."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from textual.pilot import Pilot

from tests.tui.conftest import CLINICIAN, DAY, PASSPHRASE


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


def rendered_text(app: object) -> str:
    """Every character on the app's screen as it is drawn now (toasts included), as text."""
    svg = app.export_screenshot()  # type: ignore[attr-defined]
    runs = re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)
    text = html.unescape(" ".join(runs)).replace("\xa0", " ")
    return re.sub(r"\s+", " ", text)


def patient_facts() -> list[str]:
    """Names, surnames, streets, phones and birth dates (in several spellings) of every
    patient in the test store: none may show while the app is locked."""
    from fieldapp.demo.seattle import demo_day

    day = demo_day(DAY)
    ids = {v.patient_id for v in day.visits_for(CLINICIAN)}
    facts: list[str] = []
    for p in (p for p in day.patients if p.id in ids):
        born = p.date_of_birth
        facts += [p.display_name, p.display_name.split()[-1], p.address.street, p.phone]
        facts += [born.isoformat(), f"{born:%d %B %Y}", f"{born:%m/%d/%Y}", f"{born:%d %b %Y}"]
    return facts
