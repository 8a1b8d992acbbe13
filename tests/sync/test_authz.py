"""SECURITY.md 14-19: BOLA, bad tokens, mass assignment, roles, rate limits, enrollment codes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from sync.client import DeviceRevoked
from sync.outbox import push_body
from sync.records import PatientSummary
from sync.server.auth import create_enroll_code
from sync.server.db import transaction
from sync.server.main import create_app
from sync.server.models import AuditEvent, Device, DeviceRecordRow, VisitRow
from sync.server.schemas import CONTACT_FIELDS
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY, Clock, auth, test_settings
from tests.sync.factories import T0, World, seed, vitals
from tests.sync.fakes import FakeStore
from tests.sync.live import LiveServer

HEAD0 = {"seq": 0, "chain_hash": "0" * 64}


def _routes(world: World, other: str) -> list[tuple[str, str, Any]]:
    """Every route and verb with another clinician's ids filled in."""
    v, p = world.visits[other], world.patients[other]
    return [
        ("GET", f"/visits/{v.id}", None),
        ("GET", f"/patients/{p.id}", None),
    ]


def _all_routes(world: World) -> list[tuple[str, str, Any]]:
    v, p = world.visits["a"], world.patients["a"]
    return [
        ("GET", "/me", None),
        ("GET", "/visits", None),
        ("GET", f"/visits/{v.id}", None),
        ("GET", f"/patients/{p.id}", None),
        ("POST", "/sync/pull", {"cursor": None, "head": HEAD0}),
        ("POST", "/sync/push", {"head": HEAD0, "items": []}),
        ("POST", "/sync/wiped", None),
        ("GET", "/dispatch/visits", None),
        ("GET", f"/dispatch/visits/{v.id}", None),
        ("POST", f"/dispatch/visits/{v.id}/cancel", None),
        ("PATCH", f"/dispatch/visits/{v.id}", {"route_order": 1}),
        ("GET", f"/dispatch/patients/{p.id}", None),
        ("GET", "/admin/users", None),
        ("GET", "/admin/devices", None),
        ("GET", "/admin/review", None),
        ("POST", f"/admin/devices/{world.device_ids['b']}/revoke", None),
        ("POST", "/admin/users/a/enroll-code", None),
        ("POST", "/admin/users/a/checker-code", None),
        ("POST", "/checkers/code", None),
        ("GET", "/admin/clinicians/a/profile", None),
        ("PUT", "/admin/clinicians/a/profile", {"licence_active": True}),
    ]


async def test_bola_other_clinicians_ids_answer_404(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    for method, path, body in _routes(world, "b"):
        r = await api.request(method, path, json=body, headers=auth(world, "a"))
        assert r.status_code == 404, (method, path, r.status_code)
        unknown = path.rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
        assert (await api.request(method, unknown, headers=auth(world, "a"))).status_code == 404
    store = device_store(world, "a")
    await client_for(api, store).sync_once()
    assert set(store.of_kind("visit")) == {world.visits["a"].id}
    assert set(store.of_kind("patient")) == {world.patients["a"].id}
    # a record about b's visit is set aside, never filed under b's patient
    vb = world.visits["b"]
    store.write(vitals(vb.patient_id, vb.id, "a"))
    report = await client_for(api, store).sync_once()
    assert report.pushed == {"rejected": 1}
    with transaction(world.engine) as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.outcome == "not_found")).all()
    assert len(refused) == 4  # each refusal audited


@pytest.mark.parametrize(
    "token", [None, "garbage", "fa1_" + "A" * 43, "expired", "revoked", "wiped"]
)
async def test_bad_tokens_get_401_everywhere(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock, token: str | None
) -> None:
    handing_in = token == "revoked"
    if token in ("revoked", "wiped"):
        with transaction(world.engine) as session:
            device = session.get(Device, world.device_ids["a"])
            assert device is not None
            device.revoked_at = T0
            # once it has reported its wipe the token is dead everywhere, push included
            device.wiped_at = T0 + 60 if token == "wiped" else None
            session.add(device)
        token = world.tokens["a"]
    elif token == "expired":
        clock.advance(days=400)
        token = world.tokens["a"]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for method, path, body in _all_routes(world):
        if path in ("/sync/push", "/sync/wiped") and handing_in:
            continue  # a revoked device may still hand in its work and report its wipe (test 20)
        r = await api.request(method, path, json=body, headers=headers)
        assert r.status_code in (401, 429), (method, path, r.status_code)
        assert "Retry-After" in r.headers if r.status_code == 429 else r.json()["error"]
        if token == world.tokens["a"] and r.status_code == 401 and not handing_in:
            assert r.json()["error"] in ("device_revoked", "token_expired")


async def test_unknown_or_server_owned_fields_are_refused(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    v = world.visits["a"]
    disp = auth(world, "disp")
    for field, value in [
        ("status", "cancelled"),
        ("review_flags", []),
        ("version", 99),
        ("planned_dose_mg", 500),
        ("colour", "red"),
    ]:
        r = await api.patch(f"/dispatch/visits/{v.id}", json={field: value}, headers=disp)
        assert r.status_code == 422, field
    create = {
        "patient_id": str(v.patient_id),
        "clinician_id": "a",
        "scheduled_on": TODAY.isoformat(),
        "window_start": v.window_start.isoformat(),
        "window_end": v.window_end.isoformat(),
        "duration_min": 60,
        "course": {"number": 1, "of": 6},
    }
    for field, value in [("id", str(uuid.uuid4())), ("status", "cancelled"), ("is_admin", True)]:
        assert (
            await api.post("/dispatch/visits", json=create | {field: value}, headers=disp)
        ).status_code == 422
    contact = {
        "display_name": "Test Person",
        "phone": "555-0101",
        "address": json.loads(v.address.model_dump_json()),
    }
    r = await api.put(
        f"/dispatch/patients/{v.patient_id}", json=contact | {"diagnoses": []}, headers=disp
    )
    assert r.status_code == 422
    r = await api.post(
        "/sync/push", json={"head": HEAD0, "items": [], "role": "admin"}, headers=auth(world, "a")
    )
    assert r.status_code == 422
    with transaction(world.engine) as session:
        row = session.get(VisitRow, str(v.id))
        assert row is not None and row.version == 1 and row.status == "scheduled"


async def test_roles_admin_routes_403_and_dispatch_sees_no_clinical_field(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    for who in ("a", "disp"):
        for method, path, body in _all_routes(world):
            if path.startswith("/admin"):
                assert (
                    await api.request(method, path, json=body, headers=auth(world, who))
                ).status_code == 403
    for method, path, body in _all_routes(world):
        if path.startswith("/dispatch"):
            assert (
                await api.request(method, path, json=body, headers=auth(world, "a"))
            ).status_code == 403
    p, v = world.patients["a"], world.visits["a"]
    patient = (await api.get(f"/dispatch/patients/{p.id}", headers=auth(world, "disp"))).json()
    assert set(patient) - {"id", "version"} <= CONTACT_FIELDS
    assert not set(patient) & PatientSummary.CLINICAL_FIELDS
    for visit in (await api.get("/dispatch/visits", headers=auth(world, "disp"))).json():
        assert "planned_dose_mg" not in visit
    visit = (await api.get(f"/dispatch/visits/{v.id}", headers=auth(world, "disp"))).json()
    assert "planned_dose_mg" not in visit and visit["review_flags"] == []


async def test_a_role_refusal_is_audited_with_the_route(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    pull = await api.post(
        "/sync/pull", json={"cursor": None, "head": HEAD0}, headers=auth(world, "disp")
    )
    assert pull.status_code == 403 and pull.json()["error"] == "forbidden"
    users = await api.get("/admin/users", headers=auth(world, "a"))
    assert users.status_code == 403
    with transaction(world.engine) as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.action == "forbidden").order_by(AuditEvent.seq)
        ).all()
    assert [(e.actor, e.outcome, json.loads(e.detail)) for e in refused] == [
        ("disp", "role", {"path": "/sync/pull", "method": "POST"}),
        ("a", "role", {"path": "/admin/users", "method": "GET"}),
    ]


async def test_rate_limit_429_with_retry_after_and_body_limit_413(
    db_url: str, clock: Clock
) -> None:
    app = create_app(
        test_settings(
            db_url, max_body_bytes=4096, rate_limits={"enroll_per_minute": 1, "enroll_burst": 3}
        ),
        clock=clock,
    )
    world = seed(app.state.ctx.engine, app.state.ctx.settings, TODAY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as api:
        answers = [
            await api.post("/enroll", json={"code": "NOPE00-0000-0000-0000"}) for _ in range(5)
        ]
        assert [a.status_code for a in answers] == [400, 400, 400, 429, 429]
        assert int(answers[-1].headers["Retry-After"]) >= 1
        big = {"head": HEAD0, "items": [], "pad": "x" * 5000}
        r = await api.post("/sync/push", json=big, headers=auth(world, "a"))
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"
        for route, who in [("/sync/push", "a"), ("/enroll", None), ("/admin/users", "root")]:
            # sent chunked, without Content-Length: the limit is found while reading
            headers = {"Content-Type": "application/json"} | (auth(world, who) if who else {})
            r = await api.post(route, content=_chunks(json.dumps(big).encode()), headers=headers)
            assert "content-length" not in r.request.headers
            assert r.status_code == 413 and r.json()["error"] == "body_too_large", route
    app.state.ctx.engine.dispose()


async def _chunks(body: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_oversized_body_gets_413_from_uvicorn(db_url: str) -> None:
    env = {"FIELDAPP_SERVER__MAX_BODY_BYTES": "4096"}
    with LiveServer(db_url, env=env) as server, httpx.Client(base_url=server.url) as http:
        body = json.dumps({"head": HEAD0, "items": [], "pad": "x" * 20_000}).encode()
        chunks = (body[i : i + 1000] for i in range(0, len(body), 1000))
        r = http.post(
            "/sync/push",
            content=chunks,
            headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
        )
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"


async def test_enrollment_code_single_use_expiry_and_five_tries(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    def new_code() -> str:
        with transaction(world.engine) as session:
            return create_enroll_code(session, "a", world.settings, clock().timestamp())[0]

    code = new_code()
    assert (await api.post("/enroll", json={"code": code})).status_code == 200
    assert (await api.post("/enroll", json={"code": code})).status_code == 400  # single use
    expiring = new_code()
    clock.advance(minutes=16)
    assert (await api.post("/enroll", json={"code": expiring})).status_code == 400  # expired
    tried = new_code()
    wrong = tried[:7] + ("0000" if tried[7:11] != "0000" else "1111") + tried[11:]
    for _ in range(5):
        assert (await api.post("/enroll", json={"code": wrong})).status_code == 400
    assert (await api.post("/enroll", json={"code": tried})).status_code == 400  # out of tries
    with transaction(world.engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "enroll").order_by(col(AuditEvent.seq))
        ).all()
    assert [e.outcome for e in events] == ["ok", "failed", "failed"] + ["failed"] * 5 + ["failed"]
    assert all(code not in e.detail and tried not in e.detail for e in events)


async def test_a_wiped_device_cannot_push_again(world: World, api: httpx.AsyncClient) -> None:
    # Found by probing: after reporting its wipe a device went on pushing new records.
    v = world.visits["a"]
    store = device_store(world, "a")
    store.write(vitals(v.patient_id, v.id, "a"))
    revoke = f"/admin/devices/{world.device_ids['a']}/revoke"
    assert (await api.post(revoke, headers=auth(world, "root"))).status_code == 200
    with pytest.raises(DeviceRevoked):
        await client_for(api, store).sync_once()  # hands in, wipes, reports the wipe
    later = FakeStore()
    later.write(vitals(v.patient_id, v.id, "a"))
    pushed = await api.post(
        "/sync/push", json=push_body(later.head, later.items.values()), headers=auth(world, "a")
    )
    assert pushed.status_code == 401 and pushed.json() == {
        "error": "device_revoked",
        "detail": "This device was revoked: it must wipe its store.",
        "wipe": True,
    }
    with transaction(world.engine) as session:
        assert len(session.execute(select(DeviceRecordRow)).all()) == 1
