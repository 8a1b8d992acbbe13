"""Requests expire (the `approvals.request_ttl_min` setting): an answer signed after it is
refused at the clinic and at the laptop, and audited; the hold stays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from fieldapp.services.approvals import SimulatedClinic
from fieldapp.services.context import AppServices
from fieldapp.store.store import Store
from sync.approvals import AnswerRefused
from tests.approvals.conftest import CLINICIAN, PRESCRIBER, Clinic, live_clinic
from tests.approvals.test_remote_hold import held_run, pinned, raised, signed

TTL_MIN = 0.02  # 1.2 seconds: the request is past its expiry by the time it is answered


@pytest.fixture
async def quick_clinic(
    db_url: str, services: AppServices, store: Store, tmp_path: Path
) -> AsyncIterator[Clinic]:
    """A live clinic whose requests expire almost at once."""
    env = {"FIELDAPP_SERVER__APPROVALS__REQUEST_TTL_MIN": str(TTL_MIN)}
    async with live_clinic(db_url, store, tmp_path, env=env) as built:
        yield built


async def test_an_answer_after_expiry_is_refused_and_audited(
    quick_clinic: Clinic, services: AppServices
) -> None:
    clinic = quick_clinic
    run = held_run(services)
    pending = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    await asyncio.sleep(TTL_MIN * 60 + 0.5)
    with pytest.raises(AnswerRefused) as refused:
        await clinic.client(PRESCRIBER).answer(signed(clinic.stores[PRESCRIBER], item, PRESCRIBER))
    assert refused.value.reason == "expired"
    found = await clinic.client(CLINICIAN).read(pending.id, wait_s=5)  # no wait: it is over
    assert found.status == "expired" and found.answer is None
    assert run.decide().outcome == "hold"
    assert (PRESCRIBER, "refused_expired") in [
        (a, o) for a, o, _ in clinic.audit("approval_answer")
    ]
    assert pinned(clinic)


def test_the_laptop_refuses_an_answer_signed_after_the_request_expired(
    services: AppServices,
) -> None:
    run = held_run(services)
    pending = run.approval_request()
    clinic = SimulatedClinic()
    now = services.clock.now()
    in_time = clinic.answer(pending, "approve", "ok", "drp", now)
    late = in_time.model_copy(update={"expires_at": now - timedelta(seconds=1)})
    with pytest.raises(AnswerRefused) as refused:
        run.apply_answer(late, clinic.pinned_key)
    assert refused.value.reason == "expired"
    assert run.decide().outcome == "hold"
    assert run.apply_answer(in_time, clinic.pinned_key).outcome == "proceed_with_flags"
