"""A telephone order: taken offline (who gave it, the exact order, read back), the visit
goes on where the protocol allows it; the next sync puts it in the prescriber's co-sign
queue; unsigned past the deadline it is escalated to the supervisor and shown on the board.
The server's clock is injected; the laptop's store and the HTTP calls are the real ones
(through the app in process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from fieldapp.services.approvals import ApprovalLink, PendingRequest
from fieldapp.services.context import AppServices
from fieldapp.services.verbal import CosignQueue, Flushed
from fieldapp.services.visit import StepRefused
from fieldapp.store.store import Store
from sync.approval_client import ApprovalClient
from sync.approvals import draft_answer
from sync.client import SyncClient, enroll
from sync.records import ChecklistSubmission
from sync.server import crud
from sync.server.auth import create_enroll_code
from sync.server.db import transaction
from sync.server.main import create_app
from sync.server.plans import board
from tests.approvals.conftest import CLINICIAN, PRESCRIBER, SUPERVISOR
from tests.approvals.test_remote_hold import HELD, held_run
from tests.store.factory import new_store
from tests.sync.conftest import Clock, test_settings
from tests.sync.factories import add_user
from tests.tui.conftest import DAY

ORDER = "Proceed with the infusion as ordered; recheck BP at 10 minutes."


class Office:
    """The clinic in process, on its own settable clock, and everyone's clients."""

    def __init__(self, app: Any, clock: Clock, http: httpx.AsyncClient) -> None:
        self.app, self.clock, self.http = app, clock, http
        self.clients: dict[str, ApprovalClient] = {}

    @property
    def engine(self) -> Any:
        return self.app.state.ctx.engine


@pytest.fixture
async def office(
    db_url: str, services: AppServices, store: Store, tmp_path: Path
) -> AsyncIterator[Office]:
    clock = Clock(DAY)  # the laptop's demo day, noon UTC
    app = create_app(test_settings(db_url), clock=clock)
    engine = app.state.ctx.engine
    for name, role in (
        (CLINICIAN, "clinician"),
        (PRESCRIBER, "prescriber"),
        (SUPERVISOR, "supervisor"),
    ):
        add_user(engine, name, role, clock.now.timestamp())
    # The visit and its patient as the clinic has them (the board shows the visit).
    visit = store.visits_for_day(DAY)[0]
    with transaction(engine) as session:
        crud.put_patient_summary(session, store.patient(visit.patient_id), clock.now.timestamp())  # type: ignore[arg-type]
        crud.put_visit(session, visit, clock.now.timestamp())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        built = Office(app, clock, http)
        stores = {CLINICIAN: store}
        for who in (PRESCRIBER, SUPERVISOR):
            stores[who] = new_store(tmp_path / f"{who}.store")
        for who, held in stores.items():
            with transaction(engine) as session:
                code, _ = create_enroll_code(
                    session, who, app.state.ctx.settings, clock.now.timestamp()
                )
            identity = await enroll("http://127.0.0.1", code, held, http=http)
            built.clients[who] = ApprovalClient(http, identity)
        built.stores = stores  # type: ignore[attr-defined]
        yield built
    engine.dispose()


def test_an_order_not_read_back_or_for_a_hold_it_cannot_release_is_refused(
    services: AppServices,
) -> None:
    run = held_run(services)
    with pytest.raises(StepRefused, match="Read the order back"):
        run.take_verbal_order(PRESCRIBER, ORDER, read_back=False)
    with pytest.raises(StepRefused, match="clinic user name"):
        run.take_verbal_order("Dr Somebody on the phone", ORDER, read_back=True)
    run.texts["urinary_symptoms"] = "y"  # a hold the protocol leaves to a signed answer
    with pytest.raises(StepRefused, match="cannot release urinary_symptoms"):
        run.take_verbal_order(PRESCRIBER, ORDER, read_back=True)
    assert run.decide().outcome == "hold"


async def test_a_telephone_order_proceeds_offline_reaches_the_queue_and_escalates(
    office: Office, services: AppServices, clock: Any, settings: Any
) -> None:
    # Offline: the order is taken and the visit goes on.
    run = held_run(services)
    decision = run.take_verbal_order(PRESCRIBER, ORDER, read_back=True)
    assert decision.outcome == "proceed_with_flags"
    (submitted, *_) = reversed(run.submit())
    assert isinstance(submitted, ChecklistSubmission) and submitted.approval is not None
    assert submitted.approval.prescriber == PRESCRIBER and submitted.approval.read_back
    assert submitted.approval.note == ORDER and submitted.approval.answer is None
    queue = CosignQueue(services.drafts)
    (waiting,) = queue.pending()
    assert waiting.id == submitted.approval.cosign_request_id
    assert await office.clients[PRESCRIBER].queue() == []  # nothing reached the clinic yet

    # The next sync: the order reaches the prescriber's co-sign queue.
    link = ApprovalLink(SyncClient(office.http, services.store, settings.sync), services.store, 10)
    assert await queue.flush(link) == Flushed(sent=1, refused=0)
    assert queue.pending() == []
    (item,) = await office.clients[PRESCRIBER].queue(kind="verbal_order")
    assert item.facts.question == ORDER and item.facts.values["given_by"] == PRESCRIBER
    assert item.facts.values["read_back"] is True and not item.overdue
    assert await office.clients[SUPERVISOR].queue() == []

    def tasks() -> list[Any]:
        with transaction(office.engine) as session:
            day = board(session, DAY, "UTC", office.clock.now)
        return [t for c in day.clinicians for v in c.visits for t in v.tasks]

    (task,) = tasks()
    assert (task.action, task.owner, task.state) == ("cosign_telephone_order", "prescriber", "open")

    # Unsigned past the deadline: the supervisor's, overdue, on the board.
    deadline = office.app.state.ctx.settings.approvals.cosign_deadline_hours
    office.clock.advance(hours=deadline + 1)
    (late,) = await office.clients[PRESCRIBER].queue()
    assert late.overdue
    (escalated,) = await office.clients[SUPERVISOR].queue()
    assert escalated.id == item.id and escalated.overdue
    (task,) = tasks()
    assert (task.owner, task.state) == ("supervisor", "overdue")

    # The prescriber co-signs late: accepted, and the task is done.
    store: Store = office.stores[PRESCRIBER]  # type: ignore[attr-defined]
    answer = store.sign_answer(
        draft_answer(
            item, "approve", "Co-signed.", PRESCRIBER, office.clock.now, store.signing_public_key()
        )
    )
    signed = await office.clients[PRESCRIBER].answer(answer)
    assert signed.status == "answered"
    (task,) = tasks()
    assert task.state == "done"
    assert HELD["bp_second"] == "150/92"


async def test_a_request_the_clinic_refuses_for_good_does_not_hold_back_the_next(
    office: Office, services: AppServices, settings: Any
) -> None:
    run = held_run(services)
    run.take_verbal_order(PRESCRIBER, ORDER, read_back=True)
    run.submit()
    queue = CosignQueue(services.drafts)
    (first,) = queue.pending()
    # The clinic already holds another request under the first one's id: refused for good.
    other = first.model_copy(update={"facts": first.facts.model_copy(update={"question": "x"})})
    await office.clients[CLINICIAN].raise_request(other)
    second = first.model_copy(update={"id": uuid4()})
    queue.add(PendingRequest(second))

    link = ApprovalLink(SyncClient(office.http, services.store, settings.sync), services.store, 10)
    assert await queue.flush(link) == Flushed(sent=1, refused=1)
    assert queue.pending() == []
    (refused,) = queue.refused()
    assert refused["request"]["id"] == str(first.id) and "422" in refused["reason"]
    queued = await office.clients[PRESCRIBER].queue(kind="verbal_order")
    assert {item.id for item in queued} == {first.id, second.id}  # the clinic's copy and the next
