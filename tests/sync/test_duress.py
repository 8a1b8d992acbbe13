"""The duress route: a credential that can post a duress signal and nothing else; the
signal reaches the dispatch board, is audited, and a retry is not a second alarm."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from sync.server import refusals
from sync.server.db import transaction
from sync.server.models import AuditEvent, Device, DeviceRecordRow
from tests.sync.conftest import TODAY, Clock, auth
from tests.sync.factories import T0, World


async def duress_key(api: httpx.AsyncClient, world: World, who: str) -> str:
    """A duress credential for `who`'s device, asked for with its device token."""
    answer = await api.post("/duress/key", headers=auth(world, who))
    assert answer.status_code == 200, answer.text
    token = answer.json()["duress_token"]
    assert token.startswith("fd1_") and token != world.tokens[who]
    return str(token)


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def signal(clock: Clock, **extra: Any) -> dict[str, Any]:
    """A duress signal pressed a minute ago (queued offline)."""
    return {"id": str(uuid.uuid4()), "at": (clock() - timedelta(minutes=1)).isoformat(), **extra}


async def board_duress(api: httpx.AsyncClient, world: World, who: str) -> Any:
    """The dispatch board's duress time for one clinician."""
    board = await api.get(
        "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
    )
    assert board.status_code == 200
    return next(c for c in board.json()["clinicians"] if c["clinician_id"] == who)["duress_at"]


async def test_a_duress_signal_reaches_the_board_and_the_audit_once(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    token = await duress_key(api, world, "a")
    assert await board_duress(api, world, "a") is None
    body = signal(clock)
    first = await api.post("/duress", json=body, headers=bearer(token))
    assert first.status_code == 200 and first.json() == {"status": "received"}
    again = await api.post("/duress", json=body, headers=bearer(token))  # a retry
    assert again.json() == {"status": "duplicate"}
    assert await board_duress(api, world, "a") is not None
    assert await board_duress(api, world, "b") is None
    with transaction(world.engine) as session:
        rows = session.exec(select(DeviceRecordRow).where(DeviceRecordRow.id == body["id"])).all()
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "duress")).all()
    assert len(rows) == 1 and rows[0].user_name == "a" and rows[0].patient_id is None
    assert [(e.actor, e.outcome) for e in events] == [("a", "received"), ("a", "duplicate")]


async def test_the_duress_credential_opens_nothing_else(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    token = await duress_key(api, world, "a")
    v = world.visits["a"]
    for method, path, body in [
        ("GET", "/me", None),
        ("GET", "/visits", None),
        ("GET", f"/visits/{v.id}", None),
        ("GET", f"/patients/{v.patient_id}", None),
        ("POST", "/sync/pull", {"cursor": None, "head": {"seq": 0, "chain_hash": "0" * 64}}),
        ("POST", "/sync/push", {"head": {"seq": 0, "chain_hash": "0" * 64}, "items": []}),
        ("POST", "/duress/key", None),
        ("GET", "/dispatch/board", None),
    ]:
        answer = await api.request(method, path, json=body, headers=bearer(token))
        assert answer.status_code in (401, 429), (method, path, answer.status_code)


async def test_a_device_token_cannot_post_duress_and_bad_credentials_are_refused(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    for token in (world.tokens["a"], "fd1_" + "A" * 43, "garbage", ""):
        answer = await api.post("/duress", json=signal(clock), headers=bearer(token))
        assert answer.status_code == 401, token
    with transaction(world.engine) as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "auth_failed")).all()
    assert len(refused) == 1  # the first of a window at once; the rest in its summary
    clock.advance(seconds=app.state.ctx.settings.rate_limits.refusal_audit_window_s)
    assert app.state.ctx.summarise_refusals() == 1
    with transaction(world.engine) as session:
        summary = session.exec(
            select(AuditEvent).where(AuditEvent.action == refusals.SUMMARY_ACTION)
        ).one()
    assert json.loads(summary.detail)["more"] == 3


async def test_a_revoked_laptops_credential_is_refused(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    token = await duress_key(api, world, "a")
    with transaction(world.engine) as session:
        device = session.get(Device, world.device_ids["a"])
        assert device is not None
        device.revoked_at = T0
        session.add(device)
    answer = await api.post("/duress", json=signal(clock), headers=bearer(token))
    assert answer.status_code == 401 and answer.json()["error"] == "device_revoked"


async def test_an_expired_enrolment_does_not_silence_duress(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    token = await duress_key(api, world, "a")
    clock.advance(days=400)  # past the device token's life
    assert (await api.get("/me", headers=auth(world, "a"))).status_code == 401
    answer = await api.post("/duress", json=signal(clock), headers=bearer(token))
    assert answer.json() == {"status": "received"}


async def test_a_new_key_replaces_the_last(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    old = await duress_key(api, world, "a")
    new = await duress_key(api, world, "a")
    assert (await api.post("/duress", json=signal(clock), headers=bearer(old))).status_code == 401
    assert (await api.post("/duress", json=signal(clock), headers=bearer(new))).status_code == 200


@pytest.mark.parametrize(
    "extra",
    [{"patient_id": str(uuid.uuid4())}, {"note": "anything"}, {"visit_id": str(uuid.uuid4())}],
)
async def test_a_signal_carries_nothing_else(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock, extra: dict[str, str]
) -> None:
    token = await duress_key(api, world, "a")
    answer = await api.post("/duress", json=signal(clock, **extra), headers=bearer(token))
    assert answer.status_code == 422


async def test_an_id_taken_by_another_device_is_refused(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    body = signal(clock)
    a, b = await duress_key(api, world, "a"), await duress_key(api, world, "b")
    assert (await api.post("/duress", json=body, headers=bearer(a))).status_code == 200
    assert (await api.post("/duress", json=body, headers=bearer(b))).status_code == 422


async def test_a_signal_from_a_fast_clock_is_dated_now(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    token = await duress_key(api, world, "a")
    body = {"id": str(uuid.uuid4()), "at": (clock() + timedelta(days=2)).isoformat()}
    assert (await api.post("/duress", json=body, headers=bearer(token))).status_code == 200
    assert await board_duress(api, world, "a") is not None  # on today's board, not in 2 days


async def test_only_clinicians_get_a_duress_key(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    assert (await api.post("/duress/key", headers=auth(world, "disp"))).status_code == 403


async def test_enrolling_a_clinician_hands_out_a_duress_credential(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    codes = {}
    for who in ("a", "disp"):
        answer = await api.post(f"/admin/users/{who}/enroll-code", headers=auth(world, "root"))
        codes[who] = answer.json()["code"]
    clinician = (await api.post("/enroll", json={"code": codes["a"]})).json()
    dispatcher = (await api.post("/enroll", json={"code": codes["disp"]})).json()
    assert clinician["duress_token"].startswith("fd1_") and dispatcher["duress_token"] is None
    ok = await api.post("/duress", json=signal(clock), headers=bearer(clinician["duress_token"]))
    assert ok.status_code == 200
