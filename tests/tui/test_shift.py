"""The start-of-shift check: credentials from the clinic's profile (warned ahead, blocking
when expired), the kit answered once a shift, and each visit's checklist showing those
answers instead of asking them again."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import Static

from fieldapp.clinical.checklists import load_templates
from fieldapp.errors import ConfigError
from fieldapp.services.case_visit import EQUIPMENT
from fieldapp.services.clock import ManualClock
from fieldapp.services.shift import shift_items
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.checklist import ChecklistScreen
from fieldapp.tui.screens.dose import DoseScreen
from fieldapp.tui.screens.evv import EvvScreen
from fieldapp.tui.screens.shift import ShiftScreen
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.widgets.field import Field
from sync.records import ChecklistSubmission, ClinicianProfile, ShiftCheck
from tests.services.scenario import GOOD_CHECKLIST
from tests.tui.helpers import carry_vial, check_in, fill, open_first_visit, settle, unlock

SIZE = (100, 32)
KIT = set(EQUIPMENT)  # the equipment checklist: answered once a shift
CREDENTIALS = {"acls_expires", "licence_active", "licence_expires", "prescriber_dea_states"}


def a_profile(acls: date, **changes: object) -> ClinicianProfile:
    """Clinician c01's profile as the clinic would send it."""
    data: dict[str, object] = {
        "id": uuid.uuid4(),
        "clinician_id": "c01",
        "acls_expires": acls,
        "licence_active": True,
        "licence_expires": date(2028, 6, 30),
        "prescriber": "Dr. Test Prescriber",
        "prescriber_dea_states": ["WA"],
        "updated_by": "root",
        "updated_at": datetime(2026, 3, 1, 17, 0, tzinfo=UTC),
        **changes,
    }
    return ClinicianProfile.model_validate(data)


def shown(app: FieldApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_the_kit_is_checked_once_and_each_visit_shows_it(
    app: FieldApp, clock: ManualClock
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert "start-of-shift check not done (F9)" in shown(app, "#today-title")
        await pilot.press("f9")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ShiftScreen)
        assert {f.field_id for f in screen.query(Field)} == KIT
        # No profile pulled yet: said plainly, and the visits will ask the credentials.
        assert "Credentials: not received" in shown(app, "#shift-credentials")
        assert "no vial carried yet today" in shown(app, "#shift-stock")

        # Wrong input: an answer that is not yes/no, and required ones left blank.
        fields = {f.field_id: f for f in screen.query(Field)}
        fields["aed"].value = "maybe"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.services.store.records_of_kind("shift_check") == []
        assert "not done yet" in shown(app, "#shift-title")
        for kit in KIT:
            fields[kit].value = "y"
        await pilot.press("ctrl+s")
        await settle(pilot)
        [check] = app.services.store.records_of_kind("shift_check")
        assert isinstance(check, ShiftCheck)
        assert check.recorded_by == "c01" and check.day == date(2026, 3, 10)
        assert check.answers["aed"] is True and check.patient_id is None
        assert "done by c01 at 08:30" in shown(app, "#shift-title")

        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "start-of-shift" not in shown(app, "#today-title")

        # The visit's checklist no longer asks the kit, and says who answered it, when.
        carry_vial(app)
        await open_first_visit(pilot)
        assert isinstance(app.screen, EvvScreen)
        await check_in(pilot)
        checklist = app.screen
        assert isinstance(checklist, ChecklistScreen)
        asked = set(checklist.fields())
        assert not asked & KIT and CREDENTIALS & asked  # no profile: credentials still asked
        before = shown(app, "#answered-before")
        assert "Start-of-shift check, c01, 2026-03-10 08:30:" in before
        assert "· AED: yes" in before
        await fill(pilot, {k: v for k, v in GOOD_CHECKLIST.items() if k in asked})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        equipment = [
            r
            for r in app.services.store.records_of_kind("checklist")
            if isinstance(r, ChecklistSubmission) and r.template.startswith("equipment")
        ]
        assert equipment and equipment[0].answers["aed"] is True  # recorded as it was used


async def test_the_clinics_profile_answers_the_credentials(
    app: FieldApp, clock: ManualClock
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        app.services.store.put_server_records([a_profile(date(2027, 1, 31))])
        carry_vial(app)
        await open_first_visit(pilot)
        await check_in(pilot)
        checklist = app.screen
        assert isinstance(checklist, ChecklistScreen)
        asked = set(checklist.fields())
        assert not asked & CREDENTIALS
        assert asked & KIT  # no shift check today: the kit is asked at the visit
        before = shown(app, "#answered-before")
        assert "Clinic profile, root, 2026-03-01 09:00:" in before  # 17:00 UTC, Seattle
        assert "· Your ACLS certification expires on: 2027-01-31" in before
        assert "· Prescriber DEA states: WA" in before
        await fill(pilot, {k: v for k, v in GOOD_CHECKLIST.items() if k in asked})
        banner = shown(app, "#decision-banner")
        assert "PROCEED" in banner


async def test_an_expired_credential_blocks_and_one_expiring_soon_warns(
    app: FieldApp, clock: ManualClock
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        store = app.services.store
        # ACLS ran out yesterday: the shift check says it blocks, and the checklist stops.
        store.put_server_records([a_profile(date(2026, 3, 9))])
        carry_vial(app)
        await pilot.press("f9")
        await settle(pilot)
        assert "1 carried: V-001 (200 mg)" in shown(app, "#shift-stock")
        credentials = shown(app, "#shift-credentials")
        assert "✗ ACLS: expired 2026-03-09" in credentials
        assert "protocol.personnel.require_acls" in credentials
        assert "set by root on 2026-03-01" in credentials
        await pilot.press("escape")
        await settle(pilot)
        await open_first_visit(pilot)
        await check_in(pilot)
        asked = set(app.screen.fields())  # type: ignore[attr-defined]
        await fill(pilot, {k: v for k, v in GOOD_CHECKLIST.items() if k in asked})
        assert "HARD STOP" in shown(app, "#decision-banner")
        assert "ACLS" in shown(app, "#rules")
        assert "expires on: 2026-03-09 (expired)" in shown(app, "#answered-before")

        # Renewed, but due in 10 days: a warning naming the clinic's setting; not a block.
        await pilot.press("escape")
        await settle(pilot)
        warn_days = app.settings.shift.credential_warn_days
        renewed = a_profile(clock.now().date() + timedelta(days=10), version=2)
        store.put_server_records([renewed])
        await pilot.press("f9")
        await settle(pilot)
        credentials = shown(app, "#shift-credentials")
        assert "! ACLS: expires 2026-03-20" in credentials and "In 10 days" in credentials
        assert f"warned {warn_days} days ahead" in credentials
        assert "✓ Licence: expires 2028-06-30" in credentials
        assert "✓ Prescriber DEA: WA (Dr. Test Prescriber)" in credentials


def test_a_template_scope_is_checked_when_the_config_loads(tmp_path: Path) -> None:
    def template(**item: str) -> str:
        fields = "\n".join(f'{k} = "{v}"' for k, v in item.items())
        return (
            'id = "kit"\nversion = 1\ntitle = "Kit"\n\n[[items]]\nid = "aed"\ntext = "AED"\n'
            f'type = "bool"\n{fields}\n'
        )

    path = tmp_path / "kit.toml"
    path.write_text(template(maps_to="equipment.aed", scope="daily"))
    with pytest.raises(ConfigError, match=r"kit.toml: items.0.scope: .*'visit', 'shift' or"):
        load_templates(tmp_path)
    path.write_text(template(maps_to="equipment.aed", scope="profile"))
    with pytest.raises(ConfigError, match=r"profile holds no answer for 'equipment\.aed'"):
        load_templates(tmp_path)
    path.write_text(template(maps_to="equipment.aed", scope="shift"))
    [loaded] = load_templates(tmp_path).values()
    assert loaded.items[0].scope == "shift"


def test_the_shipped_templates_put_the_kit_on_the_shift() -> None:
    from fieldapp.services.checklist import items

    assert {item.id for item in shift_items(items())} == KIT
    assert {i.id for i in items() if i.scope == "profile"} == CREDENTIALS
