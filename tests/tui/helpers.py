"""Pilot helpers shared by the TUI tests."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

from textual.pilot import Pilot

from tests.tui.conftest import CLINICIAN, DAY, PASSPHRASE


async def settle(pilot: Pilot[object]) -> None:
    """Let workers finish and the screen catch up."""
    for _ in range(2):
        await workers_done(pilot)
        await pilot.pause()


async def workers_done(pilot: Pilot[object]) -> None:
    """Wait for the running workers; one cancelled by a newer exclusive one is fine."""
    from textual.worker import WorkerCancelled

    for _ in range(10):
        try:
            await pilot.app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


async def unlock(pilot: Pilot[object], passphrase: str = PASSPHRASE) -> None:
    """Type the passphrase on the unlock screen and wait for today's list."""
    await pilot.press(*passphrase)
    await pilot.press("enter")
    await settle(pilot)


async def sign_note(pilot: Pilot[object], secret: str = PASSPHRASE) -> None:
    """On the note screen: Ctrl+S, then the passphrase (or PIN) the signing asks for."""
    await pilot.press("ctrl+s")
    await settle(pilot)
    await pilot.press(*secret)
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


def screen_text(app: object) -> str:
    """Every character the terminal shows now, as plain text (lines joined by newlines).

    Rendered the way `App.export_screenshot` does (the screen's compositor, with the
    screens behind a dialog), into a recording console, then exported as text.
    """
    import io

    from rich.console import Console

    width, height = app.size  # type: ignore[attr-defined]
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    render = app.screen._compositor.render_update(  # type: ignore[attr-defined]
        full=True,
        screen_stack=app._background_screens,  # type: ignore[attr-defined]
    )
    console.print(render)
    return console.export_text()


async def until(pilot: Pilot[object], condition: object, tries: int = 400) -> None:
    """Let the app run until `condition()` holds (fails after `tries` short pauses).

    For steps `pilot.press` and `pilot.pause` cannot wait on: they wait for every widget
    of the screen to drain its messages, which a screen stopped by an error never does.
    """
    import asyncio

    for _ in range(tries):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the app never reached the state the test waits for")


async def discard_the_failing_draft(pilot: Pilot[object]) -> None:
    """Open the visit under today's cursor, whose draft fails as its screen opens: twice
    (the error boundary reopens it once), then the draft is offered for discarding.
    Discard it."""
    from fieldapp.tui.screens.draft_trouble import DraftTroubleDialog

    app: Any = pilot.app
    app.screen.action_open_visit()  # not pilot.press: it would wait on the stopped screen
    await until(pilot, lambda: isinstance(app.screen, DraftTroubleDialog))
    await settle(pilot)
    assert app.boundary.caught == ["ValueError", "ValueError"]
    app.boundary.caught.clear()
    await pilot.click("#draft-discard")
    await settle(pilot)
