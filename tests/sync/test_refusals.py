"""Refused tokens and enrolments are counted per source and audited once a window: a flood
answered 429 writes O(1) audit events, and the chain stays verifiable (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from sync.server import audit, refusals
from sync.server.db import transaction
from sync.server.models import AuditEvent
from tests.sync.conftest import Clock
from tests.sync.factories import World

BAD = {"Authorization": "Bearer fa1_" + "A" * 43}
WINDOW_S = 60  # config/server.toml's refusal_audit_window_s


def _events(world: World, after: int = 0) -> list[AuditEvent]:
    with transaction(world.engine) as session:
        return list(
            session.execute(
                select(AuditEvent).where(col(AuditEvent.seq) > after).order_by(col(AuditEvent.seq))
            ).scalars()
        )


def _head(world: World) -> int:
    events = _events(world)
    return events[-1].seq if events else 0


def _chain_ok(world: World) -> bool:
    with transaction(world.engine) as session:
        return audit.verify(session)[1] is None


@pytest.fixture
async def other(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client from another loopback address: another source."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.2", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def test_a_flood_of_bad_tokens_writes_two_audit_events_a_window(
    app: Any, world: World, api: httpx.AsyncClient, other: httpx.AsyncClient, clock: Clock
) -> None:
    burst = app.state.ctx.settings.rate_limits.auth_failures_burst
    start = _head(world)
    statuses = [(await api.get("/me", headers=BAD)).status_code for _ in range(burst + 70)]
    assert statuses == [401] * burst + [429] * 70
    [first] = _events(world, start)
    assert (first.action, first.outcome) == ("auth_failed", "invalid_token")
    assert json.loads(first.detail) == {"client": "127.0.0.1", "method": "GET", "path": "/me"}

    # another address in the same window is another source: its first refusal is audited
    assert (await other.get("/visits", headers=BAD)).status_code == 401
    [_, theirs] = _events(world, start)
    assert json.loads(theirs.detail)["client"] == "127.0.0.2"

    # the window closes: the sweep audits one summary per source that had more
    clock.advance(seconds=WINDOW_S)
    assert app.state.ctx.summarise_refusals() == 1
    summary = _events(world, start)[-1]
    assert (summary.action, summary.outcome) == (refusals.SUMMARY_ACTION, "auth_failed")
    assert json.loads(summary.detail) == {
        "client": "127.0.0.1",
        "since": "2030-03-04T12:00:00+00:00",
        "until": "2030-03-04T12:00:00+00:00",
        "more": burst + 69,
        "outcomes": {"invalid_token": burst - 1, "invalid_token, answered 429": 70},
    }
    assert app.state.ctx.summarise_refusals() == 0  # written once
    assert len(_events(world, start)) == 3
    assert _chain_ok(world)


async def test_the_next_refusal_after_a_window_closes_it(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    start = _head(world)
    for _ in range(5):
        assert (await api.get("/visits", headers=BAD)).status_code == 401
    clock.advance(seconds=WINDOW_S + 1)
    await api.get("/me", headers=BAD)
    actions = [(e.action, e.outcome) for e in _events(world, start)]
    assert actions == [
        ("auth_failed", "invalid_token"),
        (refusals.SUMMARY_ACTION, "auth_failed"),
        ("auth_failed", "invalid_token"),
    ]
    assert json.loads(_events(world, start)[1].detail)["more"] == 4
    assert _chain_ok(world)


async def test_an_enrolment_flood_is_summarised_too(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    burst = app.state.ctx.settings.rate_limits.enroll_burst
    start = _head(world)
    answers = [
        (await api.post("/enroll", json={"code": "AAAAAA-BBBB-CCCC-DDDD"})).status_code
        for _ in range(burst + 50)
    ]
    assert answers == [400] * burst + [429] * 50
    kinds = [(e.action, e.outcome) for e in _events(world, start)]
    # every attempt the limit let through is audited; of the refused ones only the first
    assert kinds == [("enroll", "failed")] * burst + [("enroll", "rate_limited")]
    clock.advance(seconds=WINDOW_S)
    assert app.state.ctx.summarise_refusals() == 1
    assert json.loads(_events(world, start)[-1].detail)["more"] == 49
    assert _chain_ok(world)


async def test_refusals_answered_from_memory_reach_the_database(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    # A held source is answered 429 without a database write; its count joins the window
    # at its next refusal that reaches the database (here after its wait is over).
    burst = app.state.ctx.settings.rate_limits.auth_failures_burst
    start = _head(world)
    statuses = [(await api.get("/me", headers=BAD)).status_code for _ in range(burst + 10)]
    assert statuses[-1] == 429
    clock.advance(seconds=10)  # past Retry-After, within the window
    assert (await api.get("/me", headers=BAD)).status_code == 401
    clock.advance(seconds=WINDOW_S)
    # another worker's sweep, which holds nothing in memory, still sees every refusal
    assert refusals.summarise_closed(world.engine, clock(), WINDOW_S) == 1
    summary = json.loads(_events(world, start)[-1].detail)
    assert summary["more"] == burst + 10
    assert summary["outcomes"] == {"invalid_token": burst, "invalid_token, answered 429": 10}
    assert _chain_ok(world)
