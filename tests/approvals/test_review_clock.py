"""The review console dates answers by the clinic's clock: a reviewer's machine a day
ahead of the clinic (or a demo server on another day) would otherwise have every answer
refused as late."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from fieldapp.services.context import AppServices
from fieldapp.services.review import ReviewDesk, clinic_clock
from sync.approvals import AnswerRefused, RequestPublic
from tests.approvals.conftest import CLINICIAN, PRESCRIBER, Clinic
from tests.approvals.test_remote_hold import held_run


async def asked(clinic: Clinic, services: AppServices) -> RequestPublic:
    """The held checklist put to the prescriber; the request as their queue shows it."""
    pending = held_run(services).approval_request()
    await clinic.client(CLINICIAN).raise_request(pending.request)
    (item,) = await clinic.client(PRESCRIBER).queue()
    return item


def desk(clinic: Clinic, clock: Callable[[], datetime]) -> ReviewDesk:
    """The prescriber's desk, dating answers by `clock`."""
    signer = clinic.stores[PRESCRIBER]
    return ReviewDesk(clinic.client(PRESCRIBER), signer, PRESCRIBER, "prescriber", clock)


def a_day_ahead() -> datetime:
    """A machine whose clock runs a day ahead of the clinic's."""
    return datetime.now(UTC) + timedelta(days=1)


async def test_an_answer_from_a_machine_a_day_ahead_is_dated_by_the_clinic(
    clinic: Clinic, services: AppServices
) -> None:
    me = await clinic.client(PRESCRIBER).me()
    clock = clinic_clock(datetime.fromisoformat(str(me["server_time"])), a_day_ahead)
    assert abs(clock() - datetime.now(UTC)) < timedelta(minutes=1)
    item = await asked(clinic, services)
    answered = await desk(clinic, clock).answer(item, "approve", "Proceed.")
    assert answered.status == "answered"


async def test_dated_by_the_machine_a_day_ahead_the_answer_is_refused_as_late(
    clinic: Clinic, services: AppServices
) -> None:
    item = await asked(clinic, services)
    ahead = desk(clinic, a_day_ahead)
    with pytest.raises(AnswerRefused, match="expired"):
        await ahead.answer(item, "approve", "Proceed.")
