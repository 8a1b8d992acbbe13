"""Input that cannot hurt: the report's typos typed into the checklist, the engine's
refusal, and the error boundary (an unexpected error is a sentence and a log entry, the
app stays up, the form opens again with the field marked, a failing draft is discarded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Button, Static

from fieldapp.services import errorlog
from fieldapp.services.checklist import ChecklistRun
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.checklist import ChecklistScreen
from fieldapp.tui.screens.ledger import LedgerScreen
from fieldapp.tui.screens.step import SUSPECT_NOTE
from fieldapp.tui.screens.today import TodayScreen
from tests.services.scenario import GOOD_CHECKLIST
from tests.tui.helpers import discard_the_failing_draft, fill, screen_text, settle, until
from tests.tui.test_visit import SIZE, session, to_checklist

TYPOS = {
    "heart_rate": ("720", "20–250"),
    "spo2": ("101", "50–100"),
    "temperature_c": ("368", "30–45"),
    "rr": ("140", "0–60"),
    "bp_first": ("1280/82", "50–300"),
}


async def type_into(pilot: Any, field_id: str, text: str) -> None:
    """Focus a field of the current step and type `text` key by key."""
    field = pilot.app.screen.fields()[field_id]
    field.focus_input()
    await pilot.pause()
    await pilot.press(*text)
    await settle(pilot)


async def test_the_reported_typos_are_messages_naming_the_range(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, GOOD_CHECKLIST)
        for field_id, (typed, range_text) in TYPOS.items():
            app.screen.fields()[field_id].value = ""
            await type_into(pilot, field_id, typed)
            field = app.screen.fields()[field_id]
            assert field.problem is not None and range_text in field.problem
            assert typed not in field.problem
            assert isinstance(app.screen, ChecklistScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)  # not submitted with a typo
        assert "Traceback" not in screen_text(app)
        patient = session(app).patient
        assert patient.date_of_birth.isoformat() not in screen_text(app)


async def test_a_value_the_engine_refuses_marks_the_field(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {**GOOD_CHECKLIST, "temperature_c": ""})
        await type_into(pilot, "temperature_c", "45")
        banner = str(app.screen.query_one("#decision-banner", Static).render())
        assert "CANNOT JUDGE" in banner
        assert app.screen.fields()["temperature_c"].problem is not None
        assert app.screen.query_one("#approve", Button).disabled
        app.screen.fields()["temperature_c"].value = ""
        await type_into(pilot, "temperature_c", "36.8")
        banner = str(app.screen.query_one("#decision-banner", Static).render())
        assert "CANNOT JUDGE" not in banner
        assert app.screen.fields()["temperature_c"].problem is None


@pytest.fixture
def failing_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine raises a foreign error holding patient-like text when HR reads 177."""
    real = ChecklistRun.decide

    def decide(self: ChecklistRun) -> Any:
        if self.texts.get("heart_rate") == "177":
            raise RuntimeError("Synthetic Patientname 1950-01-01 HR 177")
        return real(self)

    monkeypatch.setattr(ChecklistRun, "decide", decide)


async def test_an_unexpected_error_is_logged_told_and_the_field_marked(
    app: FieldApp, settings: Any, failing_decide: None
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {**GOOD_CHECKLIST, "heart_rate": ""})
        await type_into(pilot, "heart_rate", "177")
        assert app.boundary.caught == ["RuntimeError"]
        app.boundary.caught.clear()
        assert isinstance(app.screen, ChecklistScreen)
        field = app.screen.fields()["heart_rate"]
        assert field.problem == SUSPECT_NOTE
        shown = screen_text(app)
        assert "Traceback" not in shown and "Patientname" not in shown
        assert "Something went wrong (RuntimeError)" in shown
        log = errorlog.error_log_path(settings.store.resolved_path()).read_text()
        assert "RuntimeError" in log and "Patientname" not in log and "177" not in log
        assert (
            oct(errorlog.error_log_path(settings.store.resolved_path()).stat().st_mode)[-3:]
            == "600"
        )
        # Correcting the answer clears the mark and the form goes on.
        await pilot.press("backspace", "backspace", "backspace", *"76")
        await settle(pilot)
        assert app.screen.fields()["heart_rate"].problem is None


async def test_a_screen_that_stopped_is_rebuilt_from_its_draft(
    app: FieldApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, GOOD_CHECKLIST)
        broken = app.screen

        raised: list[bool] = []

        def on_field_edited(self: Any, event: Any) -> None:
            if not raised:  # once: the rebuilt screen then works
                raised.append(True)
                raise KeyError("synthetic")

        monkeypatch.setattr(ChecklistScreen, "on_field_edited", on_field_edited, raising=False)
        app.screen.fields()["rr"].focus_input()
        await pilot.pause()
        app.post_message(events.Key("5", "5"))  # not pilot.press: it waits on the stopped screen
        await until(pilot, lambda: app.screen is not broken and app.screen.is_running)
        await settle(pilot)
        assert app.boundary.caught == ["KeyError"]
        app.boundary.caught.clear()
        assert isinstance(app.screen, ChecklistScreen) and app.screen is not broken
        assert app.screen.fields()["heart_rate"].value == GOOD_CHECKLIST["heart_rate"]
        await type_into(pilot, "heart_rate", "81")  # focus selects the text: typing replaces it
        assert app.screen.fields()["heart_rate"].value == "81"


async def test_a_draft_that_fails_to_open_can_be_discarded(
    app: FieldApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {**GOOD_CHECKLIST, "rr": "13"})
        key = app.screen.draft_key
        app.services.drafts.flush()
        real = ChecklistScreen.restore_draft

        def restore_draft(self: Any) -> Any:
            draft = real(self)
            if draft.get("rr") == "13":
                raise ValueError("a draft this build cannot read")
            return draft

        monkeypatch.setattr(ChecklistScreen, "restore_draft", restore_draft)
        await pilot.press("escape")
        await settle(pilot)
        await discard_the_failing_draft(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        assert app.services.drafts.get(key) is None
        assert app.screen.fields()["rr"].value == ""


async def test_an_error_in_a_key_action_leaves_the_app_usable(
    app: FieldApp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        from tests.tui.helpers import unlock

        await unlock(pilot)

        def broken(self: Any) -> None:
            raise ZeroDivisionError

        monkeypatch.setattr(FieldApp, "action_sync", broken)
        await pilot.press("f4")
        await settle(pilot)
        assert app.boundary.caught == ["ZeroDivisionError"]
        app.boundary.caught.clear()
        assert isinstance(app.screen, TodayScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, LedgerScreen)


async def test_a_long_answer_scrolls_inside_its_field(app: FieldApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checklist(pilot)
        text = "WA, OR, ID, MT, CA, NV, AZ, UT, NM, CO, WY, ND, SD, NE, KS, OKZZ"
        await type_into(pilot, "prescriber_dea_states", text)
        field = app.screen.fields()["prescriber_dea_states"]
        assert field.value == text
        assert field.input.scroll_x > 0  # the cursor end of the text is in view
        assert "OKZZ" in screen_text(app)


async def test_a_dose_that_cannot_be_computed_yet_says_so(
    store: Any, settings: Any, clock: Any
) -> None:
    # Found by the monkey: an empty weight reached the engine as 0 and raised.
    from fieldapp.tui.screens.dose import DoseScreen
    from tests.tui.conftest import PASSPHRASE
    from tests.tui.states import bring_to

    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    visit = bring_to(app, clock, "dose").visit.id
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_visit(visit)
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        await fill(pilot, {"weight_kg": ""})
        await settle(pilot)
        outcome = str(app.screen.query_one("#dose-outcome", Static).render())
        assert outcome.startswith("Cannot compute") and "weight" in outcome
    assert app.boundary.caught == []


def test_the_clock_tick_while_closing_touches_no_screen(app: FieldApp) -> None:
    """The once-a-second tick can fire after the last screen is gone as the app closes;
    it then did `self.screen` and the boundary caught a ScreenStackError (seen in CI)."""
    assert not app.screen_stack
    app.tick()
    assert app.boundary.caught == []
