"""A telephone order checked on push, over real HTTP with the real stores: its record must
name a co-sign request that is this clinician's telephone order for this visit, from the
prescriber and with the words the record holds, or it is set aside for review and audited.
A record that reaches the clinic before its request (sent before each push, so rarely)
has the request raised from it, so no telephone order escapes its co-signature; the
laptop's own request then takes that one's place."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest

from fieldapp.services.approvals import ApprovalLink, PendingRequest
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.context import AppServices
from fieldapp.services.verbal import CosignQueue, VerbalOrder
from fieldapp.settings import Settings
from sync.client import SyncClient
from sync.records import Approval
from tests.approvals.conftest import CLINICIAN, PRESCRIBER, Clinic
from tests.approvals.test_pushed_signatures import (
    assert_set_aside,
    at_clinic,
    day_at_the_clinic,  # noqa: F401 (the clinic holds the laptop's visits)
    main_submission,
    sync,
)
from tests.approvals.test_remote_hold import held_run
from tests.tui.conftest import DAY

ORDER = "Proceed with the infusion as ordered; recheck BP at 10 minutes."


def telephone_run(services: AppServices) -> ChecklistRun:
    """The held checklist, released by a telephone order read back to the prescriber."""
    run = held_run(services)
    assert run.take_verbal_order(PRESCRIBER, ORDER, read_back=True).outcome != "hold"
    return run


async def send_requests(clinic: Clinic, services: AppServices, settings: Settings) -> int:
    """What the laptop does before each push: its queued co-sign requests go to the clinic."""
    client = SyncClient(clinic.http, clinic.stores[CLINICIAN], settings.sync)
    flushed = await CosignQueue(services.drafts).flush(ApprovalLink(client, services.store, 10))
    return flushed.sent


def raised(clinic: Clinic) -> list[str]:
    """How each co-sign request reached the clinic: `raised` (sent by the laptop) or
    `raised_from_record`."""
    return [outcome for _, outcome, _ in clinic.audit("approval_request")]


async def test_an_order_sent_before_its_record_is_stored_against_its_request(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    record = main_submission(telephone_run(services))
    assert await send_requests(clinic, services, settings) == 1
    report = await sync(clinic, settings)
    assert report.set_aside == 0 and at_clinic(clinic, record.id) == (True, [])
    assert raised(clinic) == ["raised"]


async def test_an_order_pushed_before_its_request_has_the_request_raised_from_it(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    record = main_submission(telephone_run(services))
    assert record.approval is not None
    report = await sync(clinic, settings)  # the record arrives first
    assert report.set_aside == 0 and at_clinic(clinic, record.id) == (True, [])
    (item,) = await clinic.client(PRESCRIBER).queue(kind="verbal_order")
    assert item.id == record.approval.cosign_request_id
    assert item.facts.question == ORDER and item.facts.values["given_by"] == PRESCRIBER
    assert item.facts.values["raised_from_record"] is True
    assert raised(clinic) == ["raised_from_record"]

    # The laptop's own request, with the holds it released, takes that one's place.
    assert await send_requests(clinic, services, settings) == 1
    (item,) = await clinic.client(PRESCRIBER).queue(kind="verbal_order")
    assert "raised_from_record" not in item.facts.values and item.facts.rules
    assert CosignQueue(services.drafts).pending() == []


def other_words(run: ChecklistRun, services: AppServices) -> VerbalOrder:
    """The request asks the prescriber about ORDER; the record says otherwise."""
    assert run.verbal is not None
    return replace(run.verbal, order="Give another 20 mg.")


def another_visits_request(run: ChecklistRun, services: AppServices) -> VerbalOrder:
    """The record names a request the laptop raised for another visit."""
    assert run.verbal is not None
    other = services.store.visits_for_day(DAY)[1]
    request = run.verbal.request.request.model_copy(update={"visit_id": other.id})
    return replace(run.verbal, request=PendingRequest(request))


@pytest.mark.parametrize(
    ("tamper", "reason"), [(other_words, "forged"), (another_visits_request, "replayed")]
)
async def test_an_order_its_request_does_not_match_is_set_aside(
    clinic: Clinic,
    services: AppServices,
    settings: Settings,
    tamper: Callable[[ChecklistRun, AppServices], VerbalOrder],
    reason: str,
) -> None:
    run = telephone_run(services)
    run.verbal = tamper(run, services)
    record = main_submission(run)
    assert await send_requests(clinic, services, settings) == 1
    await sync(clinic, settings)
    assert_set_aside(clinic, record.id, reason)


async def test_an_order_naming_no_request_is_set_aside(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    genuine = main_submission(held_run(services))
    approval = Approval(
        prescriber=PRESCRIBER,
        note=ORDER,
        approved_at=services.clock.now(),
        read_back=True,
    )
    bare = genuine.model_copy(
        update={"id": uuid.uuid4(), "approval": approval, "decision": "proceed_with_flags"}
    )
    services.store.save(bare)
    await sync(clinic, settings)
    assert_set_aside(clinic, bare.id, "unknown")
    assert raised(clinic) == []
