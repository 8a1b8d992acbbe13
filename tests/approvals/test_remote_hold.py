"""A readiness hold approved remotely, end to end over real HTTP with the real stores: the
laptop raises the request, the prescriber's own laptop signs the answer, the laptop waiting
on it gets it and its decision releases the hold. Only a valid signature by the right role,
in time, for this very request releases it; every refusal is audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from fieldapp.services.approvals import PendingRequest
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.context import AppServices
from fieldapp.services.visit import VisitSession
from fieldapp.store.store import Store
from sync.approvals import Answer, AnswerRefused, RequestPublic, draft_answer
from tests.approvals.conftest import CLINICIAN, OTHER_CLINICIAN, PRESCRIBER, SUPERVISOR, Clinic
from tests.services.scenario import GOOD_CHECKLIST
from tests.tui.conftest import DAY

HELD = {**GOOD_CHECKLIST, "bp_second": "150/92"}  # above the hold limit, below the hard stop


def held_run(services: AppServices) -> ChecklistRun:
    """The first visit's checklist, on hold for a prescriber."""
    visit = services.store.visits_for_day(DAY)[0]
    session = VisitSession.load(services, visit.id)
    session.en_route()
    session.arrive(None, None, attested=True)
    run = ChecklistRun(session)
    run.texts.update(HELD)
    assert run.decide().outcome == "hold"
    return run


def signed(store: Store, item: RequestPublic, who: str, decision: str = "approve") -> Answer:
    """`who`'s answer to `item`, signed on their own enrolled store."""
    draft = draft_answer(
        item,
        decision,  # type: ignore[arg-type]
        "Recheck BP at 10 min.",
        who,
        datetime.now(UTC),
        store.signing_public_key(),
        role="supervisor" if who == SUPERVISOR else "prescriber",
    )
    return store.sign_answer(draft)


async def raised(clinic: Clinic, run: ChecklistRun) -> PendingRequest:
    pending = run.approval_request()
    await clinic.client(CLINICIAN).raise_request(pending.request)
    return pending


def pinned(clinic: Clinic) -> str:
    identity = clinic.stores[CLINICIAN].device_identity()
    assert identity is not None and identity.manifest_key is not None
    return identity.manifest_key


async def test_the_prescribers_signed_answer_releases_the_hold_while_the_laptop_waits(
    clinic: Clinic, services: AppServices
) -> None:
    run = held_run(services)
    pending = await raised(clinic, run)
    laptop = clinic.client(CLINICIAN)
    waiting = asyncio.create_task(laptop.read(pending.id, wait_s=20))
    (item,) = await clinic.client(PRESCRIBER).queue()
    # The prescriber sees the rules, values and thresholds: no name, no chart.
    assert item.id == pending.id and item.role == "prescriber" and item.kind == "readiness_hold"
    assert {r.rule_id for r in item.facts.rules} == {"bp_hold"}
    assert services.store.patient(run.session.visit.patient_id).display_name not in (  # type: ignore[union-attr]
        item.model_dump_json()
    )
    await clinic.client(PRESCRIBER).answer(signed(clinic.stores[PRESCRIBER], item, PRESCRIBER))
    found = await waiting
    assert found.status == "answered"
    decision = run.apply_answer(found, pinned(clinic))
    assert decision.outcome == "proceed_with_flags"
    (submitted, *_) = reversed(run.submit())
    assert submitted.approval is not None and submitted.approval.prescriber == PRESCRIBER
    assert submitted.approval.answer == found.answer
    assert [o for _, o, _ in clinic.audit("approval_answer")] == ["approve"]


async def test_a_changed_answer_on_the_form_needs_a_new_request(
    clinic: Clinic, services: AppServices
) -> None:
    run = held_run(services)
    pending = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    await clinic.client(PRESCRIBER).answer(signed(clinic.stores[PRESCRIBER], item, PRESCRIBER))
    run.apply_answer(await clinic.client(CLINICIAN).read(pending.id), pinned(clinic))
    assert run.decide().outcome == "proceed_with_flags"
    run.texts["bp_second"] = "152/94"  # other facts than the prescriber saw
    assert run.decide().outcome == "hold"
    assert run.approval_request().id != pending.id


async def test_a_decline_keeps_the_hold(clinic: Clinic, services: AppServices) -> None:
    run = held_run(services)
    pending = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    answer = signed(clinic.stores[PRESCRIBER], item, PRESCRIBER, "decline")
    await clinic.client(PRESCRIBER).answer(answer)
    assert (
        run.apply_answer(await clinic.client(CLINICIAN).read(pending.id), pinned(clinic)).outcome
        == "hold"
    )


# -- refusals at the clinic ----------------------------------------------------------------


async def test_an_answer_signed_with_another_key_is_refused_as_forged(
    clinic: Clinic, services: AppServices, tmp_path
) -> None:
    run = held_run(services)
    pending = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    from tests.store.factory import new_store

    stranger = new_store(tmp_path / "stranger.store")  # a key the clinic never filed
    with pytest.raises(AnswerRefused) as refused:
        await clinic.client(PRESCRIBER).answer(signed(stranger, item, PRESCRIBER))
    assert refused.value.reason == "forged"
    # Signed with the prescriber's own key but naming someone else: forged too.
    with pytest.raises(AnswerRefused) as named:
        await clinic.client(PRESCRIBER).answer(signed(clinic.stores[PRESCRIBER], item, "drq"))
    assert named.value.reason == "forged"
    found = await clinic.client(CLINICIAN).read(pending.id)
    assert found.status == "pending" and found.answer is None
    assert run.decide().outcome == "hold"
    assert [(a, o) for a, o, _ in clinic.audit("approval_answer")] == [
        (PRESCRIBER, "refused_forged"),
        (PRESCRIBER, "refused_forged"),
    ]


async def test_an_answer_replayed_onto_another_request_or_answered_twice_is_refused(
    clinic: Clinic, services: AppServices
) -> None:
    run = held_run(services)
    first = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    answer = signed(clinic.stores[PRESCRIBER], item, PRESCRIBER)
    await clinic.client(PRESCRIBER).answer(answer)
    await clinic.client(PRESCRIBER).answer(answer)  # the same answer again: its reply was lost
    run.texts["bp_second"] = "152/94"
    second = await raised(clinic, run)
    assert second.id != first.id
    # The first answer sent as the answer to the second request.
    replay = answer.model_copy(update={"request_id": second.id})
    with pytest.raises(AnswerRefused) as moved:
        await clinic.client(PRESCRIBER).answer(replay)
    assert moved.value.reason in ("replayed", "forged")  # its signature no longer covers it
    # A second, different answer to the first request.
    with pytest.raises(AnswerRefused) as twice:
        await clinic.client(PRESCRIBER).answer(
            signed(clinic.stores[PRESCRIBER], item, PRESCRIBER, "decline")
        )
    assert twice.value.reason == "replayed"
    # At the laptop: the first request's answer handed back for the second is refused.
    answered_first = await clinic.client(CLINICIAN).read(first.id)
    with pytest.raises(AnswerRefused) as at_laptop:
        run.apply_answer(answered_first, pinned(clinic))
    assert at_laptop.value.reason == "replayed"
    assert run.decide().outcome == "hold"
    outcomes = [o for _, o, _ in clinic.audit("approval_answer")]
    assert outcomes.count("approve") == 2 and "refused_replayed" in outcomes


async def test_a_wrong_role_cannot_answer(clinic: Clinic, services: AppServices) -> None:
    run = held_run(services)
    pending = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    assert await clinic.client(SUPERVISOR).queue() == []  # not the supervisor's to see
    with pytest.raises(AnswerRefused) as refused:
        await clinic.client(SUPERVISOR).answer(signed(clinic.stores[SUPERVISOR], item, SUPERVISOR))
    assert refused.value.reason == "wrong_role"
    from sync.client import ServerRejected

    with pytest.raises(ServerRejected):  # a clinician is no answerer at all: 403
        await clinic.client(OTHER_CLINICIAN).answer(
            signed(clinic.stores[OTHER_CLINICIAN], item, OTHER_CLINICIAN)
        )
    assert (await clinic.client(CLINICIAN).read(pending.id)).answer is None
    assert run.decide().outcome == "hold"
    assert (SUPERVISOR, "refused_wrong_role") in [
        (a, o) for a, o, _ in clinic.audit("approval_answer")
    ]
    assert (OTHER_CLINICIAN, "role") in [(a, o) for a, o, _ in clinic.audit("forbidden")]


async def test_an_answer_tampered_on_its_way_is_refused_at_the_laptop_and_reported(
    clinic: Clinic, services: AppServices
) -> None:
    run = held_run(services)
    pending = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    await clinic.client(PRESCRIBER).answer(
        signed(clinic.stores[PRESCRIBER], item, PRESCRIBER, "decline")
    )
    found = await clinic.client(CLINICIAN).read(pending.id)
    assert found.answer is not None
    # Someone between the clinic and the laptop turns the decline into an approval.
    tampered = found.model_copy(
        update={"answer": found.answer.model_copy(update={"decision": "approve"})}
    )
    with pytest.raises(AnswerRefused) as refused:
        run.apply_answer(tampered, pinned(clinic))
    assert refused.value.reason == "forged"
    await clinic.client(CLINICIAN).report_refusal(pending.id, refused.value.reason)
    assert run.decide().outcome == "hold"
    assert (CLINICIAN, "refused_forged") in [(a, o) for a, o, _ in clinic.audit("approval_answer")]


async def test_another_clinician_cannot_read_the_request(
    clinic: Clinic, services: AppServices
) -> None:
    pending = await raised(clinic, held_run(services))
    from sync.client import ServerRejected

    with pytest.raises(ServerRejected):
        await clinic.client(OTHER_CLINICIAN).read(pending.id)


async def test_a_request_answered_while_the_visit_was_closed_comes_back_when_reopened(
    clinic: Clinic, services: AppServices
) -> None:
    run = held_run(services)
    pending = await raised(clinic, run)
    (item,) = await clinic.client(PRESCRIBER).queue()
    await clinic.client(PRESCRIBER).answer(signed(clinic.stores[PRESCRIBER], item, PRESCRIBER))
    # The clinician left the checklist before the answer came; they open it again.
    again = ChecklistRun(VisitSession.load(services, run.session.visit.id))
    again.texts.update(HELD)
    asked = again.approval_request()
    assert asked.id == pending.id  # the same request, not a new one
    found = await clinic.client(CLINICIAN).read(asked.id)
    assert again.apply_answer(found, pinned(clinic)).outcome == "proceed_with_flags"
