"""Plan routes on the server: requests, drafts, publish reaching pulls, roles, no clinical field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sync.records import StatusEvent
from sync.server import audit
from sync.server.db import transaction
from tests.dispatch.kit import (
    CLINICAL_KEYS,
    CLINICAL_TEXT,
    add_patients,
    all_keys,
    plan_doc,
    request,
    status_event,
    store_and_publish,
    upload,
)
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY, auth
from tests.sync.factories import World


async def test_publish_creates_visits_each_clinician_pulls(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p1, p2 = add_patients(world, 2)
    ids = await upload(api, world, [request("R1", p1, 9), request("R2", p2, 13)])
    result = await store_and_publish(api, world, plan_doc({"a": [("R1", 9)], "b": [("R2", 13)]}))
    assert sorted(result["created"]) == sorted(ids.values())
    a, b = device_store(world, "a"), device_store(world, "b")
    await client_for(api, a).sync_once()
    await client_for(api, b).sync_once()
    got_a = {str(k): v for k, v in a.of_kind("visit").items()}
    assert ids["R1"] in got_a and ids["R2"] not in got_a
    visit = got_a[ids["R1"]]
    assert visit.route_order == 1
    assert visit.eta == datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # the clinic zone is UTC here
    assert ids["R2"] in {str(k) for k in b.of_kind("visit")}


async def test_reassignment_by_publish_moves_a_visit_between_pulls(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    moved = str(world.visits["a"].id)
    a, b = device_store(world, "a"), device_store(world, "b")
    await client_for(api, a).sync_once()
    await client_for(api, b).sync_once()
    assert moved in {str(k) for k in a.of_kind("visit")}
    result = await store_and_publish(
        api, world, plan_doc({"b": [(str(world.visits["b"].id), 9), (moved, 12)]})
    )
    assert moved in result["changed"]
    await client_for(api, a).sync_once()
    await client_for(api, b).sync_once()
    assert moved not in {str(k) for k in a.of_kind("visit")}
    assert a.of_kind("patient") == {}  # the patient left a's scope with the visit
    got_b = {str(k): v for k, v in b.of_kind("visit").items()}
    assert got_b[moved].clinician_id == "b" and got_b[moved].route_order == 2


async def test_publishing_the_same_plan_again_changes_nothing(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    (p1,) = add_patients(world, 1)
    await upload(api, world, [request("R1", p1, 9)])
    doc = plan_doc({"a": [("R1", 9)]})
    first = await store_and_publish(api, world, doc)
    again = await store_and_publish(api, world, doc)
    assert first["created"] and again["unchanged"] == first["created"]
    plans = await api.get(
        "/dispatch/plans", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
    )
    assert [p["status"] for p in plans.json()] == ["published", "superseded"]


async def test_publish_never_moves_a_visit_under_way(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    started = world.visits["a"]
    store = device_store(world, "a")
    store.write(
        status_event(
            world,
            "a",
            str(started.id),
            str(started.patient_id),
            "arrived",
            datetime(2030, 3, 4, 9, 5, tzinfo=UTC),
        )
    )
    await client_for(api, store).sync_once()
    result = await store_and_publish(api, world, plan_doc({"b": [(str(started.id), 14)]}))
    assert result["kept_under_way"] == [str(started.id)]
    board = (
        await api.get(
            "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
        )
    ).json()
    mine = {c["clinician_id"]: c for c in board["clinicians"]}
    assert [v["id"] for v in mine["a"]["visits"]] == [str(started.id)]
    assert mine["a"]["visits"][0]["live"] == "arrived"


async def test_board_reports_live_status_and_duress_without_clinical_fields(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    visit = world.visits["a"]
    store = device_store(world, "a")
    for what, minute in (("arrived", 0), ("infusion_started", 20), ("duress", 40)):
        store.write(
            status_event(
                world,
                "a",
                str(visit.id),
                str(visit.patient_id),
                what,
                datetime(2030, 3, 4, 9, minute, tzinfo=UTC),
            )
        )
    await client_for(api, store).sync_once()
    answer = await api.get(
        "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
    )
    assert answer.status_code == 200
    board = answer.json()
    a = next(c for c in board["clinicians"] if c["clinician_id"] == "a")
    assert a["visits"][0]["live"] == "duress"
    assert [e["status"] for e in a["visits"][0]["events"]] == [
        "arrived",
        "infusion_started",
        "duress",
    ]
    assert a["duress_at"] is not None
    assert a["visits"][0]["patient_name"] and a["visits"][0]["phone"]
    assert not all_keys(board) & CLINICAL_KEYS
    assert not any(text in answer.text for text in (*CLINICAL_TEXT, "synthetic note text"))


async def test_no_plan_route_returns_clinical_fields(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    (p1,) = add_patients(world, 1)
    ids = await upload(api, world, [request("R1", p1, 9)])
    result = await store_and_publish(
        api,
        world,
        plan_doc({"a": [("R1", 9), (str(world.visits["a"].id), 12)]}),
        roster=[_roster("a", stock=500)],
    )
    plan_id = result["plan_id"]
    disp = auth(world, "disp")
    day = {"date": TODAY.isoformat()}
    answers = [
        await api.get("/dispatch/board", params=day, headers=disp),
        await api.get("/dispatch/plans", params=day, headers=disp),
        await api.get(f"/dispatch/plans/{plan_id}", headers=disp),
        await api.get("/dispatch/requests", params=day, headers=disp),
        await api.post(f"/dispatch/requests/{ids['R1']}/cancel", headers=disp),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert not all_keys(answer.json()) & CLINICAL_KEYS, answer.request.url
        assert not any(text in answer.text for text in CLINICAL_TEXT)
        assert "35.0" not in answer.text  # the seeded visit's planned dose


@pytest.mark.parametrize("who", ["a", "root"])
async def test_other_roles_are_refused_every_plan_route(
    app: Any, world: World, api: httpx.AsyncClient, who: str
) -> None:
    day = {"date": TODAY.isoformat()}
    visit = str(world.visits["a"].id)
    calls = [
        api.get("/dispatch/board", params=day, headers=auth(world, who)),
        api.get("/dispatch/plans", params=day, headers=auth(world, who)),
        api.get(f"/dispatch/plans/{visit}", headers=auth(world, who)),
        api.post(f"/dispatch/plans/{visit}/publish", headers=auth(world, who)),
        api.post(
            "/dispatch/plans",
            json={"scheduled_on": TODAY.isoformat(), "plan": plan_doc({})},
            headers=auth(world, who),
        ),
        api.get("/dispatch/requests", params=day, headers=auth(world, who)),
        api.post(f"/dispatch/requests/{visit}/cancel", headers=auth(world, who)),
    ]
    for call in calls:
        answer = await call
        assert answer.status_code == 403, answer.request.url
    with transaction(world.engine) as session:
        refusals = [
            e
            for e in session.exec(audit.select(audit.AuditEvent)).scalars()
            if e.action == "forbidden"
        ]  # type: ignore[attr-defined]
    assert len(refusals) >= len(calls)


async def test_every_read_and_write_is_audited(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    (p1,) = add_patients(world, 1)
    await upload(api, world, [request("R1", p1, 9)])
    await store_and_publish(api, world, plan_doc({"a": [("R1", 9)]}))
    await api.get(
        "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
    )
    with transaction(world.engine) as session:
        actions = [
            e.action
            for e in session.exec(audit.select(audit.AuditEvent)).scalars()
            if e.actor == "disp"
        ]  # type: ignore[attr-defined]
        count, problem = audit.verify(session)
    assert {"upload_requests", "store_plan", "publish_plan", "read_board"} <= set(actions)
    assert problem is None and count > 0


async def test_stock_is_checked_at_publish_without_showing_the_dose(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    doc = plan_doc({"a": [(str(world.visits["a"].id), 9)]})
    stored = await api.post(
        "/dispatch/plans",
        json={"scheduled_on": TODAY.isoformat(), "plan": doc, "roster": [_roster("a", stock=20)]},
        headers=auth(world, "disp"),
    )
    answer = await api.post(
        f"/dispatch/plans/{stored.json()['id']}/publish", headers=auth(world, "disp")
    )
    assert answer.status_code == 422
    assert "route of a " in answer.text and "35" not in answer.text


async def test_a_plan_naming_unknown_visits_or_clinicians_is_refused(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    for doc in (plan_doc({"a": [("NOPE", 9)]}), plan_doc({"zz": [(str(world.visits["a"].id), 9)]})):
        answer = await api.post(
            "/dispatch/plans",
            json={"scheduled_on": TODAY.isoformat(), "plan": doc},
            headers=auth(world, "disp"),
        )
        assert answer.status_code == 422, answer.text


async def test_cancelling_a_request_removes_it_from_the_next_plan_input(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    (p1,) = add_patients(world, 1)
    ids = await upload(api, world, [request("R1", p1, 9)])
    answer = await api.post(f"/dispatch/requests/{ids['R1']}/cancel", headers=auth(world, "disp"))
    board = answer.json()
    assert [v["status"] for v in board["unassigned"]] == ["cancelled"]
    refused = await api.post(
        "/dispatch/plans",
        json={"scheduled_on": TODAY.isoformat(), "plan": plan_doc({"a": [("R1", 9)]})},
        headers=auth(world, "disp"),
    )
    assert refused.status_code == 422


def _roster(who: str, stock: float) -> dict[str, Any]:
    return json.loads(
        json.dumps(
            {
                "id": who,
                "name": f"Clinician {who}",
                "start_place": "Clinic",
                "end_place": "Clinic",
                "start_lat": 47.6,
                "start_lon": -122.3,
                "end_lat": 47.6,
                "end_lon": -122.3,
                "shift_start": "2030-03-04T07:00:00",
                "shift_end": "2030-03-04T17:00:00",
                "skills": ["RN"],
                "stock_mg": stock,
                "max_visits": 5,
            }
        )
    )


async def test_duress_away_from_any_visit_reaches_the_board(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    at = datetime(2030, 3, 4, 12, 5, tzinfo=UTC)
    duress = StatusEvent(
        id=uuid.uuid4(),
        patient_id=None,
        visit_id=None,
        recorded_at=at,
        recorded_by="a",
        status="duress",
        at=at,
    )
    store = device_store(world, "a")
    store.write(duress)
    report = await client_for(api, store).sync_once()
    assert report.pushed == {"applied": 1}
    board = (
        await api.get(
            "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
        )
    ).json()
    a = next(c for c in board["clinicians"] if c["clinician_id"] == "a")
    assert a["duress_at"] is not None
