"""No colleague present: the prescriber checks the dose's arithmetic from a request (the
order's numbers only) and signs; the order records that confirmation in place of a
checker's signature. A changed order, or a decline, confirms nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fieldapp.services.context import AppServices
from fieldapp.services.infusion import (
    compute,
    confirm_dose,
    prepared,
    remote_check_request,
    with_remote_check,
)
from fieldapp.services.visit import StepRefused
from sync.approvals import draft_answer
from sync.records import DoseOrder
from tests.approvals.conftest import CLINICIAN, PRESCRIBER, Clinic
from tests.approvals.test_dose_cap import at_dose
from tests.approvals.test_remote_hold import pinned
from tests.services.scenario import dose_form


async def answered(clinic: Clinic, pending, decision: str):  # type: ignore[no-untyped-def]
    await clinic.client(CLINICIAN).raise_request(pending.request)
    (item,) = await clinic.client(PRESCRIBER).queue(kind="dose_check")
    store = clinic.stores[PRESCRIBER]
    draft = draft_answer(
        item,
        decision,
        "Arithmetic checked.",
        PRESCRIBER,
        datetime.now(UTC),
        store.signing_public_key(),
    )  # type: ignore[arg-type]
    await clinic.client(PRESCRIBER).answer(store.sign_answer(draft))
    return await clinic.client(CLINICIAN).read(pending.id)


async def test_the_prescriber_checks_the_dose_remotely(
    clinic: Clinic, services: AppServices
) -> None:
    s = at_dose(services)
    form = prepared(dose_form(), s)
    pending = remote_check_request(s, form)
    assert "dose_mg" in pending.request.facts.values
    assert pending.request.facts.rules == []
    check = with_remote_check(pending, await answered(clinic, pending, "approve"), pinned(clinic))
    changed = replace(form, weight_kg=Decimal("104"))
    with pytest.raises(StepRefused, match="order changed"):
        confirm_dose(s, changed, compute(changed), "", "V-1", remote_check=check)
    order = confirm_dose(s, form, compute(form), "", "V-1", remote_check=check)
    assert isinstance(order, DoseOrder)
    assert order.remote_check == check and order.checker_signature is None
    assert order.double_checked_by == PRESCRIBER


async def test_a_declined_check_confirms_nothing(clinic: Clinic, services: AppServices) -> None:
    s = at_dose(services)
    form = prepared(dose_form(), s)
    pending = remote_check_request(s, form)
    found = await answered(clinic, pending, "decline")
    with pytest.raises(StepRefused, match="did not confirm"):
        with_remote_check(pending, found, pinned(clinic))
