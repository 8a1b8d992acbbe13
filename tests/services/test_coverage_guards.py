"""Rules the app cannot produce, because the service refuses the input before the engine
sees it. `fieldapp protocol coverage` names each of these tests beside its rule
(fieldapp/clinical/catalogue.py, GUARDED); each proves the refusal, through the services
the screens call, against the real store."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.clinical.catalogue import GUARDED
from fieldapp.clinical.protocol import protocol_data, protocol_from_data
from fieldapp.config import deep_merge
from fieldapp.services import engine
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.context import AppServices
from fieldapp.services.infusion import Infusion, compute, confirm_dose
from fieldapp.services.ledger import LedgerRefused
from fieldapp.services.visit import StepRefused, VisitSession
from sync.records import SubstanceEvent
from tests.services.scenario import GOOD_CHECKLIST, GOOD_VITALS, dose_form
from tests.tui.conftest import CHECKER, CHECKER_PIN, DAY, PASSPHRASE


@pytest.fixture
def services(store, settings, clock) -> AppServices:  # type: ignore[no-untyped-def]
    svc = AppServices(store, settings, clock=clock)
    svc.unlock(PASSPHRASE)
    return svc


def _reasons(services: AppServices, vial: str) -> set[str]:
    return {r.rule_id for r in services.ledger.day().vials[vial].reasons}


def _dosed(services: AppServices) -> VisitSession:
    visit = services.store.visits_for_day(DAY)[0]
    s = VisitSession.load(services, visit.id)
    s.en_route()
    s.arrive(None, None, attested=True)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    run.submit()
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-GUARD")
    confirm_dose(s, dose_form(), compute(dose_form()), CHECKER, "V-1", CHECKER_PIN)
    return s


def test_every_guard_names_a_test_of_this_file() -> None:
    names = {test.split("::")[1] for test in GUARDED.values()}
    assert names <= set(globals()), names - set(globals())


def test_a_carried_vial_always_has_its_receipt(services: AppServices) -> None:
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-GUARD")
    receipts = [e for e in services.ledger.entries() if e.event == "receipt"]
    assert [(r.vial_id, r.concentration_mg_per_ml, r.fill_ml) for r in receipts] == [
        ("V-1", 10.0, 20.0)
    ]
    assert "no_receipt" not in _reasons(services, "V-1")


def test_a_count_always_has_its_volume(services: AppServices) -> None:
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-GUARD")
    with pytest.raises(LedgerRefused, match="below 0"):
        services.ledger.count("V-1", Decimal(-1))
    services.ledger.count("V-1", Decimal(20))
    assert "count_empty" not in _reasons(services, "V-1")


def test_a_resolution_needs_an_open_discrepancy(services: AppServices) -> None:
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-GUARD")
    services.ledger.count("V-1", Decimal(20))
    with pytest.raises(LedgerRefused, match="no open discrepancy"):
        services.ledger.ruling_request("V-1")
    assert not [e for e in services.ledger.entries() if e.event == "resolution"]


def test_a_draw_beyond_the_vial_is_refused(services: AppServices) -> None:
    visit = services.store.visits_for_day(DAY)[0]
    s = VisitSession.load(services, visit.id)
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-GUARD")
    with pytest.raises(LedgerRefused, match="not enough"):
        services.ledger.draw(s, "V-1", Decimal("200.5"))
    assert "overdrawn" not in _reasons(services, "V-1")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ml=st.decimals(min_value="0.01", max_value="19.99", places=2))
def test_entries_are_written_in_agreement(services: AppServices, ml: Decimal) -> None:
    """Whatever volume is wasted or counted, the entry's mg is its mL times the strength."""
    vial = f"V-{ml}"
    services.ledger.carry(vial, Decimal(10), Decimal(20), "LOT-GUARD")
    services.ledger.waste(vial, ml, "RN Witness", licensed=True)
    services.ledger.count(vial, Decimal(20) - ml)
    mine = [e for e in services.ledger.entries() if e.vial_id == vial]
    assert all(abs(e.mg - e.ml * e.concentration_mg_per_ml) < 0.01 for e in mine)
    assert "entry_mismatch" not in _reasons(services, vial)


def test_an_overage_needs_its_reason(services: AppServices) -> None:
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-GUARD")
    services.ledger.count("V-1", Decimal("20.5"))
    with pytest.raises(LedgerRefused, match="reason"):
        services.ledger.overage("V-1", Decimal("0.5"), "   ")
    services.ledger.overage("V-1", Decimal("0.5"), "manufacturer overfill")
    overage = [e for e in services.ledger.entries() if e.event == "overage"]
    assert [(e.ml, e.note) for e in overage] == [(0.5, "manufacturer overfill")]
    assert "overage_unexplained" not in _reasons(services, "V-1")


def _two_witnesses() -> object:
    data = deep_merge(protocol_data(), {"ledger": {"waste_witnesses": 2}})
    return engine.using_protocol(protocol_from_data(data, "test"))


def test_waste_needs_the_witnesses_the_protocol_asks(services: AppServices) -> None:
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-GUARD")
    with _two_witnesses():  # type: ignore[attr-defined]
        with pytest.raises(LedgerRefused, match="2 witnesses"):
            services.ledger.waste("V-1", Decimal(1), "RN One", licensed=True)
        with pytest.raises(LedgerRefused, match="2 witnesses"):
            services.ledger.waste("V-1", Decimal(1), "RN One; RN One", licensed=True)
        services.ledger.waste("V-1", Decimal(1), "RN One; RN Two", licensed=True)
        assert "waste_unwitnessed" not in _reasons(services, "V-1")
    wastes = [e for e in services.ledger.entries() if e.event == "waste"]
    assert len(wastes) == 1 and isinstance(wastes[0], SubstanceEvent)


def test_breakage_needs_the_witnesses_the_protocol_asks(services: AppServices) -> None:
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-GUARD")
    with pytest.raises(LedgerRefused, match="2 witnesses"):
        services.ledger.breakage("V-1", Decimal(20), "RN One", licensed=True)
    assert not [e for e in services.ledger.entries() if e.event == "breakage"]


def test_no_reading_after_the_infusion_stopped(services: AppServices, clock) -> None:  # type: ignore[no-untyped-def]
    s = _dosed(services)
    infusion = Infusion(s)
    infusion.start()
    clock.advance(minutes=5)
    services.note_activity()
    _, decision = infusion.record({**GOOD_VITALS, "rass": -3})
    assert decision.action == "stop" and infusion.ended
    with pytest.raises(StepRefused, match="ended"):
        infusion.record(GOOD_VITALS)
    assert [v.judgement for v in infusion.readings()] == ["stop"]
