"""A dose above the session cap, where the protocol lets a prescriber override it: the
request carries the cap's rule and the order's numbers, the prescriber's signed answer
travels over real HTTP, and the order records it; a name alone, or an order changed since
the override, is refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fieldapp.services import engine
from fieldapp.services.context import AppServices
from fieldapp.services.infusion import (
    cap_override_request,
    compute,
    confirm_dose,
    prepared,
    with_cap_override,
)
from fieldapp.services.visit import StepRefused, VisitSession
from sync.approvals import draft_answer
from tests.approvals.conftest import CLINICIAN, PRESCRIBER, Clinic
from tests.approvals.test_remote_hold import pinned
from tests.services.scenario import GOOD_CHECKLIST, dose_form
from tests.tui.conftest import CHECKER, CHECKER_PIN, DAY

OVER_CAP = {"kind": "infusion_total", "mg_per_kg": Decimal("2.5"), "duration_min": Decimal(240)}


@pytest.fixture(autouse=True)
def override_allowed() -> Iterator[None]:
    """The clinic's protocol, with the session-cap override allowed."""
    base = engine.protocol()
    dosing = base.dosing.model_copy(update={"session_cap_override_allowed": True})
    with engine.using_protocol(base.model_copy(update={"dosing": dosing})):
        yield


def at_dose(services: AppServices) -> VisitSession:
    from fieldapp.services.checklist import ChecklistRun

    visit = services.store.visits_for_day(DAY)[0]
    s = VisitSession.load(services, visit.id)
    s.en_route()
    s.arrive(None, None, attested=True)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    run.submit()
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-CAP")
    return s


async def test_a_signed_override_lets_the_dose_exceed_the_cap(
    clinic: Clinic, services: AppServices
) -> None:
    s = at_dose(services)
    form = replace(dose_form(), **OVER_CAP)
    assert compute(prepared(form, s)).outcome == "refused"
    with pytest.raises(StepRefused, match="signed answer"):  # a typed name is not enough
        confirm_dose(
            s, replace(form, session_override_by="drp"), compute(form), CHECKER, "V-1", CHECKER_PIN
        )
    pending = cap_override_request(s, form)
    assert [r.rule_id for r in pending.request.facts.rules] == ["session_cap"]
    await clinic.client(CLINICIAN).raise_request(pending.request)
    (item,) = await clinic.client(PRESCRIBER).queue(kind="dose_cap")
    store = clinic.stores[PRESCRIBER]
    answer = store.sign_answer(
        draft_answer(
            item,
            "approve",
            "Override for this session.",
            PRESCRIBER,
            datetime.now(UTC),
            store.signing_public_key(),
        )
    )
    await clinic.client(PRESCRIBER).answer(answer)
    found = await clinic.client(CLINICIAN).read(pending.id)
    overridden = with_cap_override(form, pending, found, pinned(clinic))
    result = compute(prepared(overridden, s))
    assert result.outcome != "refused"
    assert "session_cap_override" in [r.rule_id for r in result.reasons]
    changed = replace(overridden, mg_per_kg=Decimal("3.0"))
    with pytest.raises(StepRefused, match="order changed"):
        confirm_dose(s, changed, compute(prepared(changed, s)), CHECKER, "V-1", CHECKER_PIN)
    order = confirm_dose(s, overridden, result, CHECKER, "V-1", CHECKER_PIN)
    assert order.cap_override == found.answer
