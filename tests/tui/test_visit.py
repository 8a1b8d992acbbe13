"""Pilot tests of a visit: whole, hard stop, a hold no typed name releases, stopped for
BP, not cleared, note signed then amended, a draft surviving lock, and the duress key."""

from __future__ import annotations

from textual.widgets import Checkbox, Static, TextArea

from fieldapp.services.visit import VisitSession
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.approval import RemoteApprovalDialog
from fieldapp.tui.screens.checklist import ChecklistScreen
from fieldapp.tui.screens.dose import DoseScreen
from fieldapp.tui.screens.evv import EvvScreen
from fieldapp.tui.screens.monitor import MonitorScreen
from fieldapp.tui.screens.note import NoteScreen
from fieldapp.tui.screens.orders import OrdersScreen
from fieldapp.tui.screens.recovery import RecoveryScreen
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.screens.unlock import UnlockScreen
from sync.records import (
    ChecklistSubmission,
    Incident,
    StatusEvent,
    TaskUpdate,
    VitalsReading,
)
from tests.services.scenario import GOOD_CHECKLIST
from tests.tui.conftest import CHECKER, CHECKER_PIN
from tests.tui.helpers import (
    carry_vial,
    check_in,
    fill,
    later,
    open_first_visit,
    rendered_text,
    settle,
    sign_note,
    unlock,
)

SIZE = (100, 32)
GOOD_VITALS = {
    "systolic_mmhg": "134",
    "diastolic_mmhg": "84",
    "heart_rate_bpm": "80",
    "spo2_pct": "98",
    "rass": "0",
}
GOOD_RECOVERY = {
    "aldrete": "10",
    "padss": "10",
    "systolic": "128",
    "diastolic": "80",
    "heart_rate": "76",
    "responsible_adult_name": "spouse",
}


def session(app: FieldApp) -> VisitSession:
    return app.screen.session  # type: ignore[attr-defined,no-any-return]


async def to_checklist(pilot) -> None:  # type: ignore[no-untyped-def]
    await unlock(pilot)
    carry_vial(pilot.app)
    await open_first_visit(pilot)
    assert isinstance(pilot.app.screen, EvvScreen)
    await check_in(pilot)
    assert isinstance(pilot.app.screen, ChecklistScreen)


async def to_monitor(pilot) -> None:  # type: ignore[no-untyped-def]
    await to_checklist(pilot)
    # Answers the clinic's profile or the shift check gave are not asked: not typed either.
    asked = pilot.app.screen.fields()
    await fill(pilot, {k: v for k, v in GOOD_CHECKLIST.items() if k in asked})
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DoseScreen)
    await fill(
        pilot, {"prescriber": "Dr. Test Prescriber", "checker": CHECKER, "checker_pin": CHECKER_PIN}
    )
    pilot.app.screen.query_one("#double-check", Checkbox).value = True
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(pilot.app.screen, MonitorScreen)
    await pilot.press("ctrl+t")
    await settle(pilot)


async def test_whole_visit_check_in_to_check_out(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await whole_visit(pilot, app, clock)


async def whole_visit(pilot, app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    """Unlock, then the first visit from check-in to check-out, every step on screen."""
    await to_monitor(pilot)
    later(app, clock, 10)
    await fill(pilot, GOOD_VITALS)
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert "CONTINUE" in str(app.screen.query_one("#judgement", Static).render())
    later(app, clock, 30)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(app.screen, RecoveryScreen)
    later(app, clock, 60)
    await fill(pilot, GOOD_RECOVERY)
    for box in app.screen.query(Checkbox):
        box.value = True
    await pilot.pause()
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(app.screen, NoteScreen)
    assert "Readiness" in app.screen.query_one("#soap-assessment", TextArea).text
    await sign_note(pilot)
    await pilot.press("ctrl+o")
    await settle(pilot)
    assert isinstance(app.screen, EvvScreen) and app.screen.checkout
    await pilot.click("#evv-attest")
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(app.screen, TodayScreen)
    assert app.screen.rows[0].status == "done"


async def test_hard_stop_blocks_the_infusion(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {**GOOD_CHECKLIST, "bp_second": "186/112"})
        banner = str(app.screen.query_one("#decision-banner", Static).render())
        assert "HARD STOP" in banner
        assert "hard-stop" in str(app.screen.query_one("#rules", Static).render()).replace(
            "hard_stop", "hard-stop"
        ) or "hard stop" in str(app.screen.query_one("#rules", Static).render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)  # blocked: no dose step
        assert "^d Decline visit" in rendered_text(app)  # the key line offers ctrl+d
        await pilot.press("ctrl+d")
        await settle(pilot)
        # No infusion, but the clinician is still there: check-out next, the timer running.
        assert isinstance(app.screen, EvvScreen) and app.screen.checkout
        assert app.services.lone_worker.visit_id is not None
        await pilot.click("#evv-attest")
        await pilot.click("#confirm")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert app.screen.rows[0].status == "not given"
        assert app.services.lone_worker.visit_id is None


async def test_ctrl_d_declines_nothing_the_answers_do_not_stop(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, GOOD_CHECKLIST)
        assert "^d Decline visit" not in rendered_text(app)
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        assert not session(app).has_status("declined")


async def test_a_hold_is_never_released_by_a_typed_name(app: FieldApp) -> None:
    """Without a clinic to ask there is no prescriber's signature: the hold stays. (The
    whole remote approval through this screen: tests/approvals/test_tui_approval.py.)"""
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {**GOOD_CHECKLIST, "bp_second": "150/92"})
        assert "HOLD" in str(app.screen.query_one("#decision-banner", Static).render())
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert isinstance(app.screen, RemoteApprovalDialog)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "bp_hold" in rendered_text(app)
        assert "not enrolled" in str(app.screen.query_one("#approval-status", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        assert "HOLD" in str(app.screen.query_one("#decision-banner", Static).render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        assert session(app).last(ChecklistSubmission) is None


async def test_infusion_stopped_for_bp(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        later(app, clock, 20)
        await fill(pilot, {**GOOD_VITALS, "systolic_mmhg": "186", "diastolic_mmhg": "104"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "PAUSE" in str(app.screen.query_one("#judgement", Static).render())
        s = session(app)
        later(app, clock, 5)
        await fill(pilot, {**GOOD_VITALS, "systolic_mmhg": "182", "diastolic_mmhg": "102"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        judged = [v.judgement for v in s.of(VitalsReading)]
        assert judged == ["pause", "stop"]
        assert s.has_status("infusion_ended")
        await pilot.pause(0.2)
        await settle(pilot)
        # The STOP order stays on screen until each of its actions is acknowledged.
        orders = app.screen
        assert isinstance(orders, OrdersScreen)
        assert "STOP" in str(orders.query_one("#orders-headline", Static).render())
        stop_tasks = [t.action for t in orders.tasks]
        assert stop_tasks == ["notify_prescriber", "antihypertensive", "post_stop_recheck"]
        for key in ("escape", "f2", "f3", "f4"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is orders, key
        await pilot.click("#orders-continue")
        await settle(pilot)
        assert app.screen is orders
        for n in range(len(orders.tasks)):
            clock.advance(seconds=20)
            await pilot.click(f"#order-button-{n}")
            await settle(pilot)
        updates = {u.task_id: u for u in s.of(TaskUpdate)}
        assert [updates[t.id].status for t in orders.tasks] == ["done", "done", "acknowledged"]
        times = [updates[t.id].at for t in orders.tasks]
        assert times == sorted(times) and len(set(times)) == 3
        await pilot.click("#orders-continue")
        await settle(pilot)
        assert isinstance(app.screen, RecoveryScreen)


async def test_recovery_not_cleared_stays(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        later(app, clock, 40)
        await pilot.press("ctrl+n")
        await settle(pilot)
        later(app, clock, 5)  # far short of the minimum observation
        await fill(pilot, {**GOOD_RECOVERY, "aldrete": "7"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RecoveryScreen)
        text = str(app.screen.query_one("#recovery-decision", Static).render())
        assert "NOT CLEARED" in text
        assert session(app).step == "recovery"


async def test_note_signed_then_amended(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        later(app, clock, 40)
        await pilot.press("ctrl+n")
        await settle(pilot)
        later(app, clock, 60)
        await fill(pilot, GOOD_RECOVERY)
        for box in app.screen.query(Checkbox):
            box.value = True
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, NoteScreen)
        await sign_note(pilot)
        assert app.screen.query_one("#soap-plan", TextArea).read_only
        app.screen.query_one("#addendum", TextArea).text = "Patient called back: no nausea."
        await pilot.click("#amend")
        await settle(pilot)
        s = session(app)
        assert [a.text for a in s.addenda()] == ["Patient called back: no nausea."]
        assert "Addendum" in str(app.screen.query_one("#addenda", Static).render())


async def test_lock_and_unlock_keeps_the_draft(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {"bp_first": "131/85", "heart_rate": "77"})
        key = app.screen.draft_key  # type: ignore[attr-defined]
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
        assert app.services.store.is_locked
        await unlock(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        saved = app.services.store.load_draft(key)
        assert saved is not None and saved["bp_first"] == "131/85"
        assert app.screen.fields()["heart_rate"].value == "77"


async def test_duress_key_from_any_screen(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await to_checklist(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        s = session(app)
        history = app.services.store.patient_history(s.patient.id)
        assert any(isinstance(r, StatusEvent) and r.status == "duress" for r in history)
        assert any(isinstance(r, Incident) and r.category == "duress" for r in history)
        assert isinstance(app.screen, ChecklistScreen)  # silent: the screen stays
        shown = rendered_text(app)
        assert "Saved." in shown and "uress" not in shown  # the chosen words, nothing more
        assert len(app.duress.pending()) == 1  # written down, waiting for a credential


async def test_a_telephone_order_releases_an_allowed_hold_offline(app: FieldApp) -> None:
    """No data: the order is recorded with who gave it and the read-back, the visit goes
    on, and the co-sign request waits for the next sync (tests/approvals for the rest)."""
    from textual.widgets import Input

    from fieldapp.services.verbal import CosignQueue
    from fieldapp.tui.screens.entry import EntryDialog

    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {**GOOD_CHECKLIST, "bp_second": "150/92"})
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, EntryDialog)
        answers = {"given_by": "drp", "order": "Proceed; recheck BP at 10 min", "read_back": "no"}
        for field_id, text in answers.items():
            app.screen.query_one(f"#field-{field_id.replace('_', '-')} Input", Input).value = text
        await pilot.click("#entry-ok")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)  # not read back: refused
        assert "HOLD" in str(app.screen.query_one("#decision-banner", Static).render())
        await pilot.press("ctrl+t")
        await settle(pilot)
        for field_id, text in {**answers, "read_back": "yes"}.items():
            app.screen.query_one(f"#field-{field_id.replace('_', '-')} Input", Input).value = text
        await pilot.click("#entry-ok")
        await settle(pilot)
        assert "PROCEED" in str(app.screen.query_one("#decision-banner", Static).render())
        s = session(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        submitted = s.last(ChecklistSubmission)
        assert submitted is not None and submitted.approval is not None
        assert submitted.approval.read_back and submitted.approval.prescriber == "drp"
        assert len(CosignQueue(app.services.drafts).pending()) == 1
