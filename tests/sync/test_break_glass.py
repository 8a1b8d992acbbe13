"""Break-glass access over HTTP with the real encrypted store, on SQLite and PostgreSQL.

Clinician `a` asks for clinician `b`'s patient: granted with a reason for the set time,
the patient reaches a's laptop at the next sync, every read is one audit event, the
supervisor (enrolled through the admin API like anyone else) is notified at once and
reviews it by their own identity, and once the (injected) clock passes the expiry the
server refuses reads (audited) and a's laptop drops the record at its next sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import col, select

from fieldapp.store import Store
from sync.break_glass import REASON_MAX, AccessRequest, Grant
from sync.client import ServerRejected, ServerUnreachable
from sync.server.break_glass import BreakGlassGrant, SupervisorNotice
from sync.server.db import transaction
from sync.server.models import AuditEvent
from tests.sync.clientkit import client_for, device_store, enrolled_store
from tests.sync.conftest import TODAY, Clock, auth
from tests.sync.factories import World

REASON = "Colleague b collapsed at the door; I am attending their patient now."


def events(world: World, action: str, outcome: str | None = None) -> list[dict[str, Any]]:
    """The audit events of one action (optionally one outcome), oldest first, detail parsed."""
    with transaction(world.engine) as session:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == action).order_by(AuditEvent.seq)  # type: ignore[arg-type]
        ).all()
        return [
            {"actor": r.actor, "outcome": r.outcome, **json.loads(r.detail)}
            for r in rows
            if outcome is None or r.outcome == outcome
        ]


async def enrol_supervisor(
    api: httpx.AsyncClient, world: World, name: str = "sup"
) -> dict[str, str]:
    """A supervisor made as every user is: the admin adds them and hands out a one-time
    code, and their laptop enrols with it. Returns their Authorization header."""
    added = await api.post(
        "/admin/users", json={"name": name, "role": "supervisor"}, headers=auth(world, "root")
    )
    assert added.status_code == 201, added.text
    code = await api.post(f"/admin/users/{name}/enroll-code", headers=auth(world, "root"))
    enrolled = await api.post("/enroll", json={"code": code.json()["code"], "device_name": "desk"})
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["role"] == "supervisor"
    world.device_ids[name], world.tokens[name] = (
        enrolled.json()["device_id"],
        enrolled.json()["token"],
    )
    return auth(world, name)


def ask_body(world: World, **extra: Any) -> dict[str, Any]:
    """a's request for b's patient."""
    body = {
        "patient_id": str(world.patients["b"].id),
        "reason_code": "colleague_unavailable",
        "reason": REASON,
    }
    return {**body, **extra}


async def laptop_of_a(tmp_path: Path, api: httpx.AsyncClient, world: World) -> Store:
    """a's real store, enrolled and synced once (it holds a's own patient only)."""
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    await client_for(api, laptop).sync_once()
    assert laptop.patient(world.patients["a"].id) is not None
    assert laptop.patient(world.patients["b"].id) is None
    return laptop


def test_the_admin_command_adds_a_supervisor_and_hands_out_their_code(
    db_url: str, capsys: Any
) -> None:
    from tests.sync.test_cli import run

    srv = ["server", "--database-url", db_url]
    status, out = run(capsys, *srv, "user", "add", "sup", "--role", "supervisor")
    assert status == 0 and "added supervisor sup" in out
    status, out = run(capsys, *srv, "enroll-code", "sup")
    assert status == 0 and "code for sup:" in out


async def test_access_is_granted_with_a_reason_and_every_read_is_audited(
    tmp_path: Path, app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    laptop = await laptop_of_a(tmp_path, api, world)
    client = client_for(api, laptop)
    grant = await client.ask_break_glass(AccessRequest.model_validate(ask_body(world)))
    assert grant.patient_id == world.patients["b"].id and grant.clinician == "a"
    limit = app.state.ctx.settings.break_glass.max_minutes
    assert (grant.expires_at - grant.granted_at).total_seconds() == limit * 60
    assert grant.granted_at == clock.now
    [granted] = events(world, "break_glass_grant", "ok")
    assert granted["grant"] == str(grant.id) and granted["reason_code"] == "colleague_unavailable"
    assert REASON not in json.dumps(granted)  # the clinician's words stay out of the audit
    assert events(world, "break_glass_read") == []

    await client.sync_once()  # the pull hands the patient over: one read
    held = laptop.patient(world.patients["b"].id)
    assert held is not None and held.display_name == world.patients["b"].display_name
    assert laptop.verify().ok  # the manifest lists the patient while the grant holds
    reads = events(world, "break_glass_read")
    assert [(r["via"], r["grant"], r["patient"]) for r in reads] == [
        ("pull", str(grant.id), str(grant.patient_id))
    ]

    await client.sync_once()  # nothing changed: nothing handed over, nothing audited
    assert len(events(world, "break_glass_read")) == 1
    for n in range(2):  # each read of the patient is one more event
        answer = await api.get(f"/break-glass/{grant.id}/patient", headers=auth(world, "a"))
        assert answer.status_code == 200 and answer.json()["id"] == str(grant.patient_id)
        assert len(events(world, "break_glass_read", "ok")) == 2 + n
    # b's laptop and scope are not touched; no one else may read under a's grant
    other = await api.get(f"/break-glass/{grant.id}/patient", headers=auth(world, "b"))
    assert other.status_code == 404
    assert events(world, "break_glass_read", "not_found")[-1]["actor"] == "b"


async def test_the_supervisor_is_notified_at_once_and_reviews_by_their_own_identity(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    supervisor = await enrol_supervisor(api, world)
    asked = await api.post("/break-glass", json=ask_body(world), headers=auth(world, "a"))
    assert asked.status_code == 201, asked.text
    grant_id = asked.json()["id"]

    notices = await api.get("/break-glass/notices", headers=supervisor)
    assert notices.status_code == 200
    [notice] = notices.json()
    assert notice["access"]["id"] == grant_id and notice["access"]["reason"] == REASON
    assert notice["access"]["reviewed_by"] is None
    board = await api.get(f"/dispatch/board?date={TODAY}", headers=auth(world, "disp"))
    [listed] = board.json()["break_glass"]
    assert listed["id"] == grant_id and listed["clinician"] == "a"
    assert "reason" not in listed  # the board shows the coded reason, never the words
    # only a supervisor sees notices and reviews; a typed name in the body is refused
    for who in ("a", "disp", "root"):
        assert (await api.get("/break-glass/notices", headers=auth(world, who))).status_code == 403
        refused = await api.post(
            f"/break-glass/{grant_id}/review", json={}, headers=auth(world, who)
        )
        assert refused.status_code == 403
    typed = await api.post(
        f"/break-glass/{grant_id}/review", json={"reviewed_by": "sup"}, headers=supervisor
    )
    assert typed.status_code == 422

    reviewed = await api.post(
        f"/break-glass/{grant_id}/review", json={"note": "Called a; justified."}, headers=supervisor
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["reviewed_by"] == "sup"
    assert reviewed.json()["reviewed_device"] == world.device_ids["sup"]
    assert (await api.get("/break-glass/notices", headers=supervisor)).json() == []
    board = await api.get(f"/dispatch/board?date={TODAY}", headers=auth(world, "disp"))
    assert board.json()["break_glass"] == []
    again = await api.post(f"/break-glass/{grant_id}/review", json={}, headers=supervisor)
    assert again.status_code == 422  # the first review stands
    [review] = events(world, "break_glass_review", "ok")
    assert review["actor"] == "sup" and review["grant"] == grant_id
    everything = await api.get("/break-glass", headers=supervisor)
    assert [g["reviewed_by"] for g in everything.json()] == ["sup"]
    # what the supervisor saw is audited too: which grants, never the words
    [seen, *_] = events(world, "break_glass_notices")
    assert seen["actor"] == "sup" and seen["grants"] == [grant_id]
    [listed_all] = events(world, "break_glass_list")
    assert listed_all["grants"] == [grant_id] and REASON not in json.dumps(listed_all)


async def test_expiry_ends_access_on_the_server_and_the_laptop_drops_the_record(
    tmp_path: Path, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    laptop = await laptop_of_a(tmp_path, api, world)
    client = client_for(api, laptop)
    grant = await client.ask_break_glass(AccessRequest.model_validate(ask_body(world, minutes=30)))
    laptop.keep_break_glass(grant)
    await client.sync_once()
    assert laptop.patient(world.patients["b"].id) is not None

    clock.advance(minutes=29, seconds=59)
    still = await api.get(f"/break-glass/{grant.id}/patient", headers=auth(world, "a"))
    assert still.status_code == 200
    read = await client.read_break_glass(grant.id)
    assert read.id == world.patients["b"].id
    clock.advance(seconds=1)  # the expiry itself: ended
    ended = await api.get(f"/break-glass/{grant.id}/patient", headers=auth(world, "a"))
    assert ended.status_code == 403 and ended.json()["error"] == "break_glass_ended"
    [refusal] = events(world, "break_glass_read", "break_glass_ended")
    assert refusal["actor"] == "a" and refusal["grant"] == str(grant.id)
    with pytest.raises(ServerRejected, match="has ended"):  # the laptop's own read
        await client.read_break_glass(grant.id)
    assert len(events(world, "break_glass_read", "break_glass_ended")) == 2
    reads_before = len(events(world, "break_glass_read", "ok"))

    await client.sync_once()  # the next sync: the record leaves the laptop
    assert laptop.patient(world.patients["b"].id) is None
    assert laptop.patient(world.patients["a"].id) is not None  # a's own patient stays
    assert len(events(world, "break_glass_read", "ok")) == reads_before  # nothing handed over
    assert laptop.forget_break_glass(clock.now) == 1 and laptop.break_glass_grants() == []
    await client.sync_once()  # the manifest the removal came with no longer lists the patient
    assert laptop.patient(world.patients["b"].id) is None
    assert laptop.verify().ok


async def test_the_laptop_drops_the_record_even_when_nothing_else_changed(
    tmp_path: Path, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    """A fresh store (no cursor) and an incremental one both end up without the patient."""
    laptop = await laptop_of_a(tmp_path, api, world)
    client = client_for(api, laptop)
    await client.ask_break_glass(AccessRequest.model_validate(ask_body(world, minutes=5)))
    clock.advance(minutes=1)
    await client.sync_once()
    assert laptop.patient(world.patients["b"].id) is not None
    laptop.reset_pull_cursor()  # the next pull starts from scratch, after the expiry
    clock.advance(minutes=5)
    await client.sync_once()
    assert laptop.patient(world.patients["b"].id) is None


@pytest.mark.parametrize(
    "change",
    [
        {"reason": None},
        {"reason": ""},
        {"reason": "   "},
        {"reason": "ok\x00ok"},
        {"reason": "x" * (REASON_MAX + 1)},
        {"reason_code": None},
        {"reason_code": "because"},
    ],
    ids=["missing", "empty", "blank", "nul", "overlong", "no-code", "unknown-code"],
)
async def test_a_request_without_a_proper_reason_is_refused_and_nothing_granted(
    world: World, api: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    body = {k: v for k, v in {**ask_body(world), **change}.items() if v is not None}
    answer = await api.post("/break-glass", json=body, headers=auth(world, "a"))
    assert answer.status_code == 422
    assert REASON[:20] not in answer.text  # the submitted words are not echoed back
    with transaction(world.engine) as session:
        assert session.exec(select(BreakGlassGrant)).all() == []
        assert session.exec(select(SupervisorNotice)).all() == []


async def test_a_clinician_cannot_grant_themselves_longer_than_the_setting(
    tmp_path: Path, app: Any, world: World, api: httpx.AsyncClient
) -> None:
    limit = app.state.ctx.settings.break_glass.max_minutes
    laptop = await laptop_of_a(tmp_path, api, world)
    client = client_for(api, laptop)
    with pytest.raises(ServerRejected, match=f"at most {limit} minutes"):
        await client.ask_break_glass(
            AccessRequest.model_validate(ask_body(world, minutes=limit + 1))
        )
    [refusal] = events(world, "break_glass_grant", "invalid")
    assert refusal["actor"] == "a" and refusal["patient"] == str(world.patients["b"].id)
    with transaction(world.engine) as session:
        assert session.exec(select(BreakGlassGrant)).all() == []
    granted = await client.ask_break_glass(
        AccessRequest.model_validate(ask_body(world, minutes=limit))
    )
    assert (granted.expires_at - granted.granted_at).total_seconds() == limit * 60


async def test_only_a_clinician_asks_and_only_for_a_patient_the_clinic_has(
    world: World, api: httpx.AsyncClient
) -> None:
    dispatcher = await api.post("/break-glass", json=ask_body(world), headers=auth(world, "disp"))
    assert dispatcher.status_code == 403
    unknown = ask_body(world, patient_id="00000000-0000-4000-8000-000000000000")
    missing = await api.post("/break-glass", json=unknown, headers=auth(world, "a"))
    assert missing.status_code == 404
    assert events(world, "break_glass_grant", "not_found")[0]["actor"] == "a"


async def test_asking_offline_says_break_glass_needs_the_server(
    tmp_path: Path, world: World, api: httpx.AsyncClient
) -> None:
    laptop = await laptop_of_a(tmp_path, api, world)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as offline:
        with pytest.raises(ServerUnreachable):
            await client_for(offline, laptop).ask_break_glass(
                AccessRequest.model_validate(ask_body(world))
            )


@given(st.text(max_size=REASON_MAX + 20))
def test_the_reason_is_accepted_exactly_when_it_is_storable_and_of_sensible_length(
    reason: str,
) -> None:
    body = {
        "patient_id": "00000000-0000-4000-8000-000000000000",
        "reason_code": "other",
        "reason": reason,
    }
    ok = "\x00" not in reason and 3 <= len(reason.strip()) <= REASON_MAX
    try:
        request = AccessRequest.model_validate(body)
    except ValidationError:
        assert not ok
    else:
        assert ok and request.reason == reason.strip()


def test_a_grant_holds_from_its_start_until_just_before_its_expiry() -> None:
    grant = Grant.model_validate(
        {
            "id": "00000000-0000-4000-8000-000000000001",
            "patient_id": "00000000-0000-4000-8000-000000000002",
            "clinician": "a",
            "reason_code": "other",
            "granted_at": "2030-03-04T12:00:00Z",
            "expires_at": "2030-03-04T13:00:00Z",
        }
    )
    assert grant.active(grant.granted_at) and not grant.active(grant.expires_at)


def test_the_supervisor_reviews_from_their_own_computer_over_real_http(
    db_url: str, live_world: World, capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fieldapp supervisor ...` against uvicorn: enrol with a code, list, review as oneself."""
    from tests.sync.live import LiveServer
    from tests.sync.test_cli import run

    monkeypatch.setenv("FIELDAPP_USER_CONFIG", str(tmp_path / "none.toml"))
    srv = ["server", "--database-url", db_url]
    assert run(capsys, *srv, "user", "add", "sup", "--role", "supervisor")[0] == 0
    code = run(capsys, *srv, "enroll-code", "sup")[1].split("code for sup: ")[1].split()[0]
    token_file = tmp_path / "supervisor-token"
    with LiveServer(db_url) as server:
        office = ["--server", server.url, "--token-file", str(token_file)]
        status, out = run(capsys, "supervisor", "enroll", *office, "--code", code)
        assert status == 0 and "Enrolled as sup (supervisor)" in out
        assert token_file.stat().st_mode & 0o777 == 0o600
        asked = httpx.post(
            server.url + "/break-glass",
            json=ask_body(live_world),
            headers=auth(live_world, "a"),
        )
        assert asked.status_code == 201, asked.text
        status, out = run(capsys, "supervisor", "break-glass", *office)
        assert status == 0 and asked.json()["id"] in out and "AWAITING REVIEW" in out
        assert f"in their words: {REASON}" in out
        status, out = run(
            capsys, "supervisor", "review-break-glass", *office, asked.json()["id"], "--note", "ok"
        )
        assert status == 0 and "Reviewed by sup" in out
        status, out = run(capsys, "supervisor", "break-glass", *office)
        assert status == 0 and "No break-glass access awaits review." in out
        status, out = run(capsys, "supervisor", "review-break-glass", *office, asked.json()["id"])
        assert status == 2 and "reviewed already by sup" in out
        clinician = tmp_path / "clinician-token"
        clinician.write_text(live_world.tokens["a"])
        status, out = run(
            capsys,
            "supervisor",
            "break-glass",
            "--server",
            server.url,
            "--token-file",
            str(clinician),
        )
        assert status == 2 and "Only a supervisor may do this." in out


def _granted_visits(world: World, patients: set[Any], today: Any, days: int) -> set[Any]:
    """The ids of the visits in the window of patients under a grant, whoever holds them."""
    import uuid
    from datetime import timedelta

    from sqlmodel import select

    from sync.server.models import VisitRow

    with transaction(world.engine) as session:
        rows = session.exec(select(VisitRow)).all()
        return {
            uuid.UUID(row.id)
            for row in rows
            if uuid.UUID(row.patient_id) in patients
            and today <= row.scheduled_on <= today + timedelta(days)
        }


@pytest.mark.parametrize("seed_value", [1, 2, 3])
async def test_after_every_pull_the_laptop_holds_its_scope_and_its_grants_exactly(
    db_url: str, seed_value: int
) -> None:
    """The office changes the plan, clinicians break the glass, grants end on the clock and
    the day moves on, between pulls of small pages: after every sync each laptop holds
    exactly its assigned patients and visits and those of its grants in force (the grant's
    patient and their visits in the window, whoever holds them), as the manifest lists."""
    import random
    from datetime import timedelta

    from sync.server import crud
    from sync.server.main import create_app
    from tests.sync.conftest import test_settings
    from tests.sync.factories import T0, patient, seed
    from tests.sync.test_manifest import CLINICIANS, _office_change, _scope

    clock = Clock()
    app = create_app(test_settings(db_url, pull_page_size=3), clock=clock)
    world = seed(app.state.ctx.engine, app.state.ctx.settings, TODAY, clinicians=3)
    patients = [*world.patients.values(), patient(9)]
    with transaction(world.engine) as session:
        crud.put_patient_summary(session, patients[-1], T0)
    rng = random.Random(seed_value)
    stores = {who: device_store(world, who) for who in CLINICIANS}
    grants: list[tuple[str, Any, Any]] = []  # (clinician, patient id, expires at)
    days = app.state.ctx.settings.pull_days_ahead
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as http:
        for step in range(60):
            for _ in range(rng.randint(0, 2)):
                _office_change(world, rng, clock().date(), patients)
            if rng.random() < 0.3:
                who, chosen = rng.choice(CLINICIANS), rng.choice(patients)
                minutes = rng.randint(5, 60)
                body = {**ask_body(world), "patient_id": str(chosen.id), "minutes": minutes}
                asked = await http.post("/break-glass", json=body, headers=auth(world, who))
                assert asked.status_code == 201, asked.text
                grants.append((who, chosen.id, clock.now + timedelta(minutes=minutes)))
            clock.advance(minutes=rng.choice([0, 0, 7, 30, 61]))
            if step % 20 == 19:
                clock.advance(days=1)
            who = rng.choice(list(stores))
            report = await client_for(http, stores[who]).sync_once()
            assert report.refetched == 0, (step, who)
            assert stores[who].manifest_problems(exact=True) == []
            visits, assigned = _scope(world, who, clock().date(), days)
            granted = {pid for w, pid, ends in grants if w == who and clock.now < ends}
            visits |= _granted_visits(world, granted, clock().date(), days)
            assert set(stores[who].of_kind("visit")) == visits, step
            assert set(stores[who].of_kind("patient")) == assigned | granted, step
    app.state.ctx.engine.dispose()


async def test_a_clinician_lists_their_own_grants_in_force_only(
    world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    short = await api.post(
        "/break-glass", json=ask_body(world, minutes=5), headers=auth(world, "a")
    )
    long = await api.post(
        "/break-glass", json=ask_body(world, minutes=30), headers=auth(world, "a")
    )
    theirs = {**ask_body(world), "patient_id": str(world.patients["a"].id)}
    assert (
        await api.post("/break-glass", json=theirs, headers=auth(world, "b"))
    ).status_code == 201
    clock.advance(minutes=6)
    found = await client_for(api, device_store(world, "a")).break_glass_in_force()
    assert [str(g.id) for g in found] == [long.json()["id"]]  # not the ended one, not b's
    assert short.json()["id"] not in json.dumps(events(world, "break_glass_mine"))
    disp = await api.get("/break-glass/mine", headers=auth(world, "disp"))
    assert disp.status_code == 403


def visit_ids(laptop: Store) -> set[Any]:
    """The ids of the visits the laptop holds."""
    return {record.id for record in laptop.records_of_kind("visit")}


async def test_a_grant_brings_the_patients_visits_and_what_is_recorded_on_them_lands(
    tmp_path: Path, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    """b's patient's visit reaches a's laptop with the grant; a's record on it while the
    grant holds is stored, one made after it ended is set aside as not a's, and the visit
    leaves the laptop with the patient."""
    from datetime import timedelta

    from sync.server.models import DeviceRecordRow, ReviewItem
    from sync.server.push import NOT_YOURS_VISIT
    from tests.sync.factories import vitals

    laptop = await laptop_of_a(tmp_path, api, world)
    client = client_for(api, laptop)
    theirs = world.visits["b"]
    assert theirs.id not in visit_ids(laptop)
    grant = await client.ask_break_glass(AccessRequest.model_validate(ask_body(world, minutes=30)))
    await client.sync_once()
    assert theirs.id in visit_ids(laptop) and laptop.verify().ok
    assert world.visits["a"].id in visit_ids(laptop)

    patient_id = world.patients["b"].id
    during = vitals(patient_id, theirs.id, "a", at=clock.now + timedelta(minutes=5))
    laptop.save(during)
    report = await client.sync_once()
    assert report.set_aside == 0 and report.pushed == {"applied": 1}

    clock.advance(minutes=31)
    after = vitals(patient_id, theirs.id, "a", at=grant.expires_at + timedelta(minutes=1))
    laptop.save(after)
    report = await client.sync_once()
    assert report.set_aside == 1
    assert theirs.id not in visit_ids(laptop) and laptop.patient(patient_id) is None
    with transaction(world.engine) as session:
        assert session.get(DeviceRecordRow, str(during.id)) is not None
        assert session.get(DeviceRecordRow, str(after.id)) is None
        reasons = session.exec(
            select(ReviewItem.reason).where(col(ReviewItem.record_id) == str(after.id))
        ).all()
    assert reasons == [NOT_YOURS_VISIT]
