"""The clinic checks the signed answers and checker signatures inside pushed records, over
real HTTP with the real stores: a record carrying an answer the clinic did not keep for
that very request, visit and role (forged, replayed, wrong role, declined, unknown), or a
dose checked with a key the clinic has not filed for that checker (with the one-time code
it issued to them, see `test_checker_codes.py`), is set aside for review and audited, and
the laptop lists it with the reason; the genuine ones are stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from fieldapp.cli import main
from fieldapp.demo.seattle import demo_day
from fieldapp.services import engine
from fieldapp.services.approvals import PendingRequest, SimulatedClinic
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.context import AppServices
from fieldapp.services.infusion import (
    cap_override_request,
    compute,
    confirm_dose,
    prepared,
    remote_check_request,
    with_cap_override,
    with_remote_check,
)
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from sync.approvals import Answer, ApprovalRequestIn, Facts
from sync.client import SyncClient, enroll
from sync.ports import SyncReport
from sync.records import Approval, ChecklistSubmission, DoseOrder
from sync.server import crud
from sync.server.db import make_engine, transaction
from sync.server.models import DeviceRecordRow, ReviewItem
from tests.approvals.checkers import (
    code_from_own_laptop,
    code_state,
    enrolled_with_code,
    filed,
    post_checker,
)
from tests.approvals.conftest import CLINICIAN, PRESCRIBER, SUPERVISOR, Clinic
from tests.approvals.conftest import _code as code_for
from tests.approvals.test_dose_cap import OVER_CAP, at_dose
from tests.approvals.test_remote_checker import answered as remote_answered
from tests.approvals.test_remote_hold import held_run, pinned, raised, signed
from tests.services.scenario import dose_form
from tests.store.factory import PASSPHRASE, new_store
from tests.tui.conftest import CHECKER, CHECKER_PIN, DAY


@pytest.fixture(autouse=True)
def day_at_the_clinic(clinic: Clinic) -> Iterator[None]:
    """The clinic holds the laptop's visits and patients, so pushes about them land."""
    day = demo_day(DAY)
    visits = day.visits_for(CLINICIAN)
    ids = {v.patient_id for v in visits}
    engine = make_engine(clinic.settings)
    try:
        with transaction(engine) as session:
            for patient in day.patients:
                if patient.id in ids:
                    crud.put_patient_summary(session, patient, 0.0)
            for visit in visits:
                crud.put_visit(session, visit, 0.0)
    finally:
        engine.dispose()
    yield


async def sync(clinic: Clinic, settings: Settings) -> SyncReport:
    """One sync round of the clinician's laptop."""
    return await SyncClient(clinic.http, clinic.stores[CLINICIAN], settings.sync).sync_once()


def at_clinic(clinic: Clinic, record_id: Any) -> tuple[bool, list[str]]:
    """Whether the clinic stored the record, and the reasons it set it aside for."""
    engine = make_engine(clinic.settings)
    try:
        with transaction(engine) as session:
            row = session.get(DeviceRecordRow, str(record_id))
            query = select(ReviewItem.reason).where(col(ReviewItem.record_id) == str(record_id))
            return row is not None, list(session.exec(query).all())
    finally:
        engine.dispose()


def on_laptop(store: Store, record_id: Any) -> str:
    """The reason the laptop lists for a record set aside ('' when it is not)."""
    found = [item.reason for item in store.set_aside() if item.record_id == record_id]
    return found[0] if found else ""


def refusals(clinic: Clinic) -> list[tuple[str, str, dict[str, Any]]]:
    """(actor, outcome, detail) of each audited refusal of a pushed signature."""
    return [(a, o, json.loads(d)) for a, o, d in clinic.audit("pushed_signature")]


def assert_set_aside(clinic: Clinic, record_id: Any, reason: str) -> None:
    """The clinic kept the record for review (not stored), the laptop lists it, the audit
    says why."""
    stored, reasons = at_clinic(clinic, record_id)
    assert not stored and len(reasons) == 1 and f"({reason})" in reasons[0], reasons
    assert f"({reason})" in on_laptop(clinic.stores[CLINICIAN], record_id)
    assert (CLINICIAN, f"refused_{reason}") in [
        (a, o) for a, o, d in refusals(clinic) if d["record_id"] == str(record_id)
    ]


async def answered(
    clinic: Clinic, run: ChecklistRun, decision: str = "approve"
) -> tuple[PendingRequest, Answer]:
    """`run`'s holds put to the prescriber, who answers through the clinic."""
    pending = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    answer = signed(clinic.stores[PRESCRIBER], item, PRESCRIBER, decision)
    await clinic.client(PRESCRIBER).answer(answer)
    return pending, answer


def main_submission(run: ChecklistRun) -> ChecklistSubmission:
    """Submit the checklist; its main submission (the last saved)."""
    return run.submit()[-1]


def carrying(
    services: AppServices, record: ChecklistSubmission, answer: Answer, **more: Any
) -> ChecklistSubmission:
    """A copy of `record` (a new id) released by `answer` as the laptop would write it."""
    approval = Approval(
        prescriber=answer.answered_by,
        note=answer.note,
        approved_at=answer.answered_at,
        answer=answer,
    )
    copy = record.model_copy(
        update={
            "id": uuid.uuid4(),
            "approval": approval,
            "decision": "proceed_with_flags",
            **more,
        }
    )
    services.store.save(copy)
    return copy


# -- answers ---------------------------------------------------------------------------------


async def test_a_released_hold_pushed_with_its_answer_is_stored(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    run = held_run(services)
    pending, _ = await answered(clinic, run)
    run.apply_answer(await clinic.client(CLINICIAN).read(pending.id), pinned(clinic))
    record = main_submission(run)
    assert record.approval is not None and record.approval.answer is not None
    report = await sync(clinic, settings)
    assert report.set_aside == 0
    assert at_clinic(clinic, record.id) == (True, [])
    assert refusals(clinic) == []


async def test_an_answer_the_clinic_never_gave_is_set_aside(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    # A clinic and prescriber made up on the laptop: its own checks pass (it pinned the
    # made-up clinic's key), the clinic's do not: it has no such request.
    run = held_run(services)
    SimulatedClinic(prescriber=PRESCRIBER).release(run, PRESCRIBER, "Looks fine.")
    saved = run.submit()
    report = await sync(clinic, settings)
    assert report.set_aside == len(saved)
    for record in saved:
        assert_set_aside(clinic, record.id, "unknown")


async def test_a_forged_answer_to_a_real_request_is_set_aside(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    # The request is real and the prescriber declined it; the laptop carries an "approve"
    # for that same request and facts, signed with a key the clinic never filed.
    run = held_run(services)
    pending, _ = await answered(clinic, run, "decline")
    fake = SimulatedClinic(prescriber=PRESCRIBER)
    found = fake.answer(pending, "approve", "Fine.", PRESCRIBER, run.session.services.clock.now())
    assert run.apply_answer(found, fake.pinned_key).outcome == "proceed_with_flags"
    record = main_submission(run)
    await sync(clinic, settings)
    assert_set_aside(clinic, record.id, "forged")


async def test_an_answer_moved_to_another_visit_is_set_aside_as_replayed(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    run = held_run(services)
    pending, _ = await answered(clinic, run)
    run.apply_answer(await clinic.client(CLINICIAN).read(pending.id), pinned(clinic))
    genuine = main_submission(run)
    assert genuine.approval is not None and genuine.approval.answer is not None
    other = services.store.visits_for_day(DAY)[1]
    moved = carrying(
        services,
        genuine,
        genuine.approval.answer,
        visit_id=other.id,
        patient_id=other.patient_id,
    )
    await sync(clinic, settings)
    assert at_clinic(clinic, genuine.id) == (True, [])
    assert_set_aside(clinic, moved.id, "replayed")


async def test_a_supervisors_ruling_cannot_release_a_readiness_hold(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    request = ApprovalRequestIn(
        id=uuid.uuid4(), kind="supervisor_decision", facts=Facts(question="Rule on vial V-9?")
    )
    await clinic.client(CLINICIAN).raise_request(request)
    (item,) = await clinic.client(SUPERVISOR).queue()
    ruling = signed(clinic.stores[SUPERVISOR], item, SUPERVISOR)
    await clinic.client(SUPERVISOR).answer(ruling)
    held = main_submission(held_run(services))
    record = carrying(services, held, ruling)
    await sync(clinic, settings)
    assert_set_aside(clinic, record.id, "wrong_role")


async def test_a_declined_answer_releases_nothing(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    run = held_run(services)
    _, declined = await answered(clinic, run, "decline")
    held = main_submission(run)
    assert held.decision == "hold" and held.approval is None
    record = carrying(services, held, declined)
    await sync(clinic, settings)
    assert at_clinic(clinic, held.id) == (True, [])
    assert_set_aside(clinic, record.id, "declined")


# -- the second checker ----------------------------------------------------------------------


def checked_dose(services: AppServices) -> DoseOrder:
    """The first visit's dose, signed by the second checker enrolled on this laptop."""
    session = at_dose(services)
    form = prepared(dose_form(), session)
    return confirm_dose(session, form, compute(form), CHECKER, "V-1", CHECKER_PIN)


async def test_the_checkers_key_is_filed_at_the_next_sync_and_their_dose_stored(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    store = clinic.stores[CLINICIAN]
    code = await enrolled_with_code(clinic, settings)  # enrolled offline: key and code kept
    key = store.checker_public_key(CHECKER)
    assert store.unfiled_checkers() == [(CHECKER, key, code)]
    order = checked_dose(services)
    report = await sync(clinic, settings)
    assert report.set_aside == 0
    assert filed(clinic) == [(CHECKER, CLINICIAN, key)]
    assert store.unfiled_checkers() == []  # the spent code is dropped with it
    assert at_clinic(clinic, order.id) == (True, [])
    assert [o for _, o, _ in clinic.audit("checker_key")] == ["filed"]
    await sync(clinic, settings)  # nothing to file again
    assert [o for _, o, _ in clinic.audit("checker_key")] == ["filed"]


async def test_a_dose_checked_with_a_key_the_clinic_never_filed_is_set_aside(
    clinic: Clinic,
    services: AppServices,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def files_nothing(self: SyncClient) -> dict[str, str]:
        return {}

    await enrolled_with_code(clinic, settings)
    monkeypatch.setattr(SyncClient, "file_checkers", files_nothing)
    order = checked_dose(services)
    await sync(clinic, settings)
    assert filed(clinic) == []
    assert_set_aside(clinic, order.id, "unfiled")


async def test_a_checker_signature_that_does_not_cover_the_order_is_set_aside(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    await enrolled_with_code(clinic, settings)
    order = checked_dose(services)
    # the checker's genuine signature, on an order whose dose was changed after it
    changed = order.model_copy(update={"id": uuid.uuid4(), "dose_mg": order.dose_mg + 10})
    services.store.save(changed)
    await sync(clinic, settings)
    assert at_clinic(clinic, order.id) == (True, [])
    assert_set_aside(clinic, changed.id, "forged")


async def test_the_clinic_files_a_checker_only_for_a_colleague_of_its_own(
    clinic: Clinic, settings: Settings
) -> None:
    store = clinic.stores[CLINICIAN]
    key = store.checker_public_key(CHECKER)
    code = await code_from_own_laptop(clinic, settings, CHECKER)
    nobody = await post_checker(clinic, "nobody", key, code)
    themselves = await post_checker(clinic, CLINICIAN, key, code)
    assert (nobody.status_code, themselves.status_code) == (404, 422)
    assert filed(clinic) == []
    assert [o for _, o, _ in clinic.audit("checker_key")] == [
        "refused_not_found",
        "refused_invalid",
    ]
    # filed once for the colleague; the same filing again is harmless (a reply lost on
    # the way), the same key for another is refused and leaves their code unused
    theirs = await code_from_own_laptop(clinic, settings, PRESCRIBER)
    first = await post_checker(clinic, CHECKER, key, code)
    same = await post_checker(clinic, CHECKER, key, code)
    other = await post_checker(clinic, PRESCRIBER, key, theirs)
    assert first.status_code == 200 and first.json()["new"] is True
    assert same.status_code == 200 and same.json()["new"] is False
    assert other.status_code == 422
    assert filed(clinic) == [(CHECKER, CLINICIAN, key)]
    assert code_state(clinic, PRESCRIBER) == [(0, False)]


# -- answers on a dose order ---------------------------------------------------------------


async def test_a_remote_check_travels_on_its_order_and_stands_for_its_checker_only(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    session = at_dose(services)
    form = prepared(dose_form(), session)
    pending = remote_check_request(session, form)
    found = await remote_answered(clinic, pending, "approve")
    check = with_remote_check(pending, found, pinned(clinic))
    order = confirm_dose(session, form, compute(form), "", "V-1", remote_check=check)
    # the same confirmation on an order naming someone else as its checker
    renamed = order.model_copy(update={"id": uuid.uuid4(), "double_checked_by": CHECKER})
    services.store.save(renamed)
    await sync(clinic, settings)
    assert at_clinic(clinic, order.id) == (True, [])
    assert_set_aside(clinic, renamed.id, "forged")


async def test_a_cap_override_travels_on_its_order(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    base = engine.protocol()
    dosing = base.dosing.model_copy(update={"session_cap_override_allowed": True})
    with engine.using_protocol(base.model_copy(update={"dosing": dosing})):
        session = at_dose(services)
        form = replace(dose_form(), **OVER_CAP)
        pending = cap_override_request(session, form)
        await clinic.client(CLINICIAN).raise_request(pending.request)
        (item,) = await clinic.client(PRESCRIBER).queue(kind="dose_cap")
        answer = signed(clinic.stores[PRESCRIBER], item, PRESCRIBER)
        await clinic.client(PRESCRIBER).answer(answer)
        found = await clinic.client(CLINICIAN).read(pending.id)
        await enrolled_with_code(clinic, settings)
        overridden = with_cap_override(form, pending, found, pinned(clinic))
        result = compute(prepared(overridden, session))
        order = confirm_dose(session, overridden, result, CHECKER, "V-1", CHECKER_PIN)
    assert order.cap_override == answer
    # the override moved onto the visit's checklist is another kind of answer
    checklist = session.last(ChecklistSubmission)
    assert checklist is not None
    moved = carrying(services, checklist, answer)
    await sync(clinic, settings)
    assert at_clinic(clinic, order.id) == (True, [])
    assert_set_aside(clinic, moved.id, "replayed")


def test_add_checker_files_the_key_at_once_when_the_laptop_is_online(
    clinic: Clinic,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "c02-laptop.store"
    laptop = new_store(path)

    async def enrol() -> str:
        async with httpx.AsyncClient(timeout=30) as http:
            await enroll(clinic.server.url, code_for(clinic.settings, CHECKER), laptop, http=http)
            return await code_from_own_laptop(clinic, settings, CLINICIAN, http)

    code = asyncio.run(enrol())
    laptop.close()
    monkeypatch.setenv("FIELDAPP_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FIELDAPP_CHECKER_PIN", "482913")
    monkeypatch.setenv("FIELDAPP_CHECKER_CODE", code)
    monkeypatch.setenv("FIELDAPP_USER_CONFIG", str(tmp_path / "none.toml"))
    assert main(["store", "add-checker", CLINICIAN, "--store", str(path)]) == 0
    assert "the key is filed with the clinic" in capsys.readouterr().out
    ((checker, filed_by, _),) = filed(clinic)
    assert (checker, filed_by) == (CLINICIAN, CHECKER)
    assert main(["store", "add-checker", "nobody", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "the clinic refused the key of nobody" in out and code not in out
