"""The second checker signs the dose order with their own key, opened by their own PIN on
this laptop: a typed name is no signature, a wrong PIN signs (and saves) nothing, and too
many wrong PINs lock that checker's key, across a restart of the app."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.clock import ManualClock
from fieldapp.services.context import AppServices
from fieldapp.services.infusion import compute, confirm_dose
from fieldapp.services.visit import StepRefused, VisitSession
from fieldapp.store.store import Store
from sync.records import DoseOrder
from sync.signatures import unb64
from tests.services.scenario import GOOD_CHECKLIST, dose_form
from tests.tui.conftest import CHECKER, CHECKER_PIN, CLINICIAN, DAY, PASSPHRASE


@pytest.fixture
def services(store: Store, settings, clock: ManualClock) -> AppServices:  # type: ignore[no-untyped-def]
    svc = AppServices(store, settings, clock=clock)
    svc.unlock(PASSPHRASE)
    return svc


def at_dose(services: AppServices) -> VisitSession:
    visit = services.store.visits_for_day(DAY)[0]
    s = VisitSession.load(services, visit.id)
    s.en_route()
    s.arrive(None, None, attested=True)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    run.submit()
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-CHECK")
    return s


def orders(services: AppServices) -> list[DoseOrder]:
    return [r for r in services.store.records_of_kind("dose_order") if isinstance(r, DoseOrder)]


def test_the_checkers_own_pin_signs_the_order(services: AppServices) -> None:
    s = at_dose(services)
    order = confirm_dose(s, dose_form(), compute(dose_form()), CHECKER, "V-1", CHECKER_PIN)
    signature = order.checker_signature
    assert signature is not None and signature.checker == CHECKER
    assert signature.public_key == services.store.checker_public_key(CHECKER)  # type: ignore[attr-defined]
    key = Ed25519PublicKey.from_public_bytes(unb64(signature.public_key))
    key.verify(unb64(signature.value), order.checked_content())  # raises if it does not
    assert orders(services) == [order]


@pytest.mark.parametrize(
    ("checker", "pin", "says"),
    [
        (CHECKER, "000000", "not c02's PIN"),
        (CHECKER, "", "own PIN"),
        ("RN Somebody", CHECKER_PIN, "not enrolled"),  # a name typed is no signature
        (CLINICIAN, CHECKER_PIN, "someone other than you"),
    ],
)
def test_no_signature_no_dose(services: AppServices, checker: str, pin: str, says: str) -> None:
    s = at_dose(services)
    before = services.ledger.vial("V-1").in_vial_ml
    with pytest.raises(StepRefused, match=says):
        confirm_dose(s, dose_form(), compute(dose_form()), checker, "V-1", pin)
    assert orders(services) == []
    assert services.ledger.vial("V-1").in_vial_ml == before  # nothing drawn
    assert s.step == "dose"


def test_too_many_wrong_pins_lock_the_checker_even_after_a_restart(
    services: AppServices,
    store: Store,
    settings,
    clock: ManualClock,  # type: ignore[no-untyped-def]
) -> None:
    s = at_dose(services)
    tries = settings.store.pin_max_tries
    for left in range(tries - 1, 0, -1):
        with pytest.raises(StepRefused, match=f"{left} tr"):
            confirm_dose(s, dose_form(), compute(dose_form()), CHECKER, "V-1", "111111")
    store.lock()
    store.unlock(PASSPHRASE)  # the count is kept in the store, not in memory
    with pytest.raises(StepRefused, match="locked"):
        confirm_dose(s, dose_form(), compute(dose_form()), CHECKER, "V-1", "111111")
    with pytest.raises(StepRefused, match="locked"):  # now even the right PIN
        confirm_dose(s, dose_form(), compute(dose_form()), CHECKER, "V-1", CHECKER_PIN)
    assert orders(services) == []
    store.enrol_checker(CHECKER, "975310")  # enrolled again, with a new PIN
    assert confirm_dose(s, dose_form(), compute(dose_form()), CHECKER, "V-1", "975310")
