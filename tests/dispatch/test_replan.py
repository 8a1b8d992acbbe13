"""Re-plan: visits under way keep their clinician and time; the rest is planned again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from fieldapp.dispatch.replan import replan
from fieldapp.routing.settings import load_routing_settings
from sync.dispatch_client import DispatchClient
from sync.server.plan_models import RosterClinician
from tests.dispatch.kit import add_patients, plan_doc, request, status_event, upload
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY
from tests.sync.factories import World


def routing() -> Any:
    """Routing settings with a short, single-solver solve."""
    config = load_routing_settings()
    config.planner.solver = "vroom"
    config.planner.time_limit_s = 1.0
    return config


def roster(*names: str) -> list[RosterClinician]:
    """Clinicians at one clinic, 07:00-18:00, RN."""
    return [
        RosterClinician(
            id=name,
            name=f"Clinician {name}",
            start_place="Clinic",
            end_place="Clinic",
            start_lat=47.6,
            start_lon=-122.33,
            end_lat=47.6,
            end_lon=-122.33,
            shift_start=datetime(2030, 3, 4, 7, 0),
            shift_end=datetime(2030, 3, 4, 18, 0),
            skills=["RN"],
            stock_mg=500,
            max_visits=6,
        )
        for name in names
    ]


async def _day(api: httpx.AsyncClient, world: World) -> tuple[DispatchClient, dict[str, str]]:
    ps = add_patients(world, 4)
    ids = await upload(api, world, [request(f"R{i}", p, 8 + 2 * i) for i, p in enumerate(ps)])
    client = DispatchClient(api, "http://127.0.0.1", world.tokens["disp"])
    doc = plan_doc({"a": [("R0", 8), ("R1", 10)], "b": [("R2", 12), ("R3", 14)]})
    stored = await client.store_plan(
        TODAY, doc, [r.model_dump(mode="json") for r in roster("a", "b")]
    )
    await client.publish(stored.id)
    return client, ids


async def test_replan_keeps_started_and_finished_visits_fixed(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    client, ids = await _day(api, world)
    board = await client.board(TODAY)
    patient_of = {str(v.id): str(v.patient_id) for c in board.clinicians for v in c.visits}
    a = device_store(world, "a")
    for visit, what, hour, minute in (
        (ids["R0"], "arrived", 8, 0),
        (ids["R0"], "checked_out", 9, 30),
        (ids["R1"], "arrived", 10, 5),
    ):
        a.write(
            status_event(
                world,
                "a",
                visit,
                patient_of[visit],
                what,
                datetime(2030, 3, 4, hour, minute, tzinfo=UTC),
            )
        )
    await client_for(api, a).sync_once()
    board = await client.board(TODAY)
    now = datetime(2030, 3, 4, 10, 30, tzinfo=UTC)
    result = replan(board, roster("a", "b"), now, routing())
    assert sorted(result.fixed) == sorted([ids["R0"], ids["R1"]])
    routes = {r["clinician_id"]: r for r in result.plan["routes"]}
    kept = [s for s in routes["a"]["stops"] if s.get("fixed")]
    assert [s["visit_id"] for s in kept] == [ids["R0"], ids["R1"]]
    assert kept[0]["start"] == "2030-03-04T08:00:00" and kept[0]["end"] == "2030-03-04T09:30:00"
    assert kept[1]["start"] == "2030-03-04T10:05:00"
    planned = {
        s["visit_id"]: s for r in result.plan["routes"] for s in r["stops"] if not s.get("fixed")
    }
    others = {str(v.id) for c in board.clinicians for v in c.visits} - set(result.fixed)
    assert set(planned) | {u["visit_id"] for u in result.plan["unassigned"]} == others
    for s in planned.values():
        assert s["start"] >= "2030-03-04T10:30:00"  # nothing new is planned in the past
    # the clinician at R1 is busy until 11:35: anything new for a starts after it
    for s in routes["a"]["stops"]:
        if not s.get("fixed"):
            assert s["start"] >= "2030-03-04T11:35:00"
    stored = await client.store_plan(TODAY, result.plan)
    published = await client.publish(stored.id)
    assert sorted(published.kept_under_way) == sorted([ids["R0"], ids["R1"]])


async def test_a_cancelled_visit_is_left_out_of_the_replan(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    client, ids = await _day(api, world)
    board = await client.cancel(ids["R3"])
    result = replan(board, roster("a", "b"), datetime(2030, 3, 4, 7, 0, tzinfo=UTC), routing())
    seen = {s["visit_id"] for r in result.plan["routes"] for s in r["stops"]}
    seen |= {u["visit_id"] for u in result.plan["unassigned"]}
    assert ids["R3"] not in seen and {ids["R0"], ids["R1"], ids["R2"]} <= seen
