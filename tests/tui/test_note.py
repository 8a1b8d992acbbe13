"""The session note: signing asks for the PIN or passphrase again (a wrong one signs
nothing), an addendum carries its author and time and sits above the signed note, and
the footer offers only what can be done now."""

from __future__ import annotations

from textual.widgets import Input, Static, TextArea

from fieldapp.services.clock import ManualClock
from fieldapp.services.recovery import Note
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.note import NoteScreen
from fieldapp.tui.screens.reauth import ReauthDialog
from sync.records import Addendum, SessionNote
from tests.tui.conftest import PASSPHRASE
from tests.tui.helpers import rendered_text, settle, sign_note, unlock
from tests.tui.states import bring_to

SIZE = (100, 32)
PIN = "246813"


async def to_note(pilot, app: FieldApp, clock: ManualClock) -> NoteScreen:  # type: ignore[no-untyped-def]
    """Unlocked, with the first visit recorded up to its note, and the note open."""
    await unlock(pilot)
    session = bring_to(app, clock, "note")
    app.open_visit(session.visit.id)
    await settle(pilot)
    assert isinstance(app.screen, NoteScreen)
    return app.screen


def keys_offered(app: FieldApp) -> str:
    """The footer's key line as drawn."""
    return str(app.screen.query_one("#key-line", Static).render())


def signed_notes(app: FieldApp) -> list[SessionNote]:
    return [
        r
        for r in app.services.store.records_of_kind("note")
        if isinstance(r, SessionNote) and r.status == "signed"
    ]


async def type_secret(pilot, secret: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*secret)
    await pilot.press("enter")
    await settle(pilot)


async def test_a_wrong_passphrase_signs_nothing(app: FieldApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        note = await to_note(pilot, app, clock)
        assert "Sign" in keys_offered(app)
        assert "Check-out" not in keys_offered(app) and "addendum" not in keys_offered(app)

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReauthDialog)
        # No PIN set this shift: the passphrase is asked.
        assert app.screen.query_one("#reauth-passphrase", Input).has_focus
        await type_secret(pilot, "not the passphrase")
        assert isinstance(app.screen, ReauthDialog)
        assert "Wrong passphrase: not signed" in str(
            app.screen.query_one("#reauth-message", Static).render()
        )
        assert signed_notes(app) == [] and note.note.signed is None

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is note and note.note.signed is None
        assert not note.query_one("#soap-plan", TextArea).read_only

        await sign_note(pilot)
        assert app.screen is note
        [signed] = signed_notes(app)
        assert signed.signed_by == app.services.user == "c01"
        assert signed.signature is not None
        assert note.query_one("#soap-plan", TextArea).read_only
        offered = keys_offered(app)
        assert "Sign" not in offered.replace("Signed", "")
        assert "Save addendum" in offered and "New addendum" in offered and "Check-out" in offered
        assert f"Signed by c01 at {clock.now():%H:%M}" in str(
            note.query_one("#note-state", Static).render()
        )


async def test_a_wrong_pin_signs_nothing_and_counts(app: FieldApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        note = await to_note(pilot, app, clock)
        app.services.store.set_pin(PIN)
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ReauthDialog)
        assert dialog.query_one("#reauth-pin", Input).has_focus
        await type_secret(pilot, "111111")
        assert "Wrong PIN: not signed. 4 tries left." in str(
            dialog.query_one("#reauth-message", Static).render()
        )
        assert signed_notes(app) == []
        # Letters are not PIN digits: the box takes none of them.
        await pilot.press(*"abc")
        assert dialog.query_one("#reauth-pin", Input).value == ""
        await type_secret(pilot, PIN)
        assert app.screen is note and note.note.signed is not None
        assert len(signed_notes(app)) == 1


async def test_too_many_wrong_pins_ask_for_the_passphrase(
    app: FieldApp, clock: ManualClock
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        note = await to_note(pilot, app, clock)
        app.services.store.set_pin(PIN)
        await pilot.press("ctrl+s")
        await settle(pilot)
        for _ in range(app.settings.store.pin_max_tries):
            await type_secret(pilot, "000000")
        dialog = app.screen
        assert isinstance(dialog, ReauthDialog)
        assert "Too many wrong PINs" in str(dialog.query_one("#reauth-message", Static).render())
        assert dialog.query_one("#reauth-passphrase", Input).has_focus
        assert not app.services.store.has_pin and signed_notes(app) == []
        await type_secret(pilot, PASSPHRASE)
        assert app.screen is note and len(signed_notes(app)) == 1


async def test_an_empty_note_asks_for_no_credential(app: FieldApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        note = await to_note(pilot, app, clock)
        for area in note.query(TextArea):
            area.text = ""
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is note
        assert "The note is empty" in rendered_text(app)
        assert signed_notes(app) == []


async def test_an_addendum_has_its_author_time_and_place(app: FieldApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        note = await to_note(pilot, app, clock)
        await sign_note(pilot)
        box = note.query_one("#addendum", TextArea)
        assert box.has_focus  # signing leaves the cursor where the next thing is typed
        # Above the four sections, in view without scrolling.
        assert box.region.y < note.query_one("#soap-subjective", TextArea).region.y
        assert box.region.bottom <= SIZE[1]

        # An empty addendum is refused; nothing is recorded.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "The addendum is empty" in rendered_text(app)
        assert note.session.addenda() == []

        note.query_one("#soap-plan", TextArea).focus()
        clock.advance(minutes=12)
        await pilot.press("ctrl+n")
        assert box.has_focus
        await pilot.press(*"Called back: no nausea.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        [addendum] = note.session.addenda()
        assert isinstance(addendum, Addendum)
        assert addendum.text == "Called back: no nausea."
        assert addendum.recorded_by == "c01"
        stored = app.services.store.get("addendum", addendum.id)
        assert isinstance(stored, Addendum) and stored.recorded_by == "c01"
        shown = str(note.query_one("#addenda", Static).render())
        assert f"Addendum by c01 at {clock.now():%H:%M}: Called back: no nausea." in shown
        assert box.text == ""
        # Still no way back to a draft: Ctrl+S is the addendum's key now, never Sign.
        assert len(signed_notes(app)) == 1


async def test_a_checked_out_visit_offers_addenda_only(app: FieldApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        session = bring_to(app, clock, "note")
        note = Note(session)
        note.sign(note.draft())
        session.check_out(None, None, attested=True)
        app.open_visit(session.visit.id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, NoteScreen) and screen.session.step == "done"
        offered = keys_offered(app)
        assert "Check-out" not in offered and "Sign" not in offered
        assert "New addendum" in offered
        assert not screen.query_one("#checkout").display
        assert screen.query_one("#addendum", TextArea).has_focus


async def test_a_lock_while_signing_signs_nothing(app: FieldApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_note(pilot, app, clock)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReauthDialog)
        await pilot.press(*PASSPHRASE[:5])
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.services.store.is_locked and not isinstance(app.screen, ReauthDialog)
        await unlock(pilot)
        assert isinstance(app.screen, NoteScreen)  # the visit comes back at its note
        assert app.screen.note.signed is None and signed_notes(app) == []
