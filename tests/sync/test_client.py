"""The sync client: retries on its timer, error sentences, transport rules, Retry-After."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.client import (
    AuthFailed,
    EnrollmentFailed,
    InsecureServer,
    RateLimited,
    ServerRejected,
    ServerUnreachable,
    StoreRolledBack,
    SyncClient,
    SyncProgress,
    check_server_url,
    enroll,
    make_http_client,
)
from sync.outbox import DeviceIdentity
from tests.sync.clientkit import Settings, client_for, device_store
from tests.sync.factories import World, vitals
from tests.sync.fakes import FakeStore


async def test_failed_upload_is_retried_on_the_timer_without_new_writes(
    app: Any, world: World
) -> None:
    inner = httpx.ASGITransport(app=app)
    calls = {"n": 0}

    class Flaky(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            calls["n"] += 1
            if calls["n"] <= 4:
                raise httpx.ConnectError("network down", request=request)
            return await inner.handle_async_request(request)

    store = device_store(world, "a")
    store.write(vitals(world.patients["a"].id, world.visits["a"].id, "a"))  # the only write
    stop = asyncio.Event()
    events: list[SyncProgress] = []

    def progress(event: SyncProgress) -> None:
        events.append(event)
        if event.phase == "done":
            stop.set()

    async with httpx.AsyncClient(transport=Flaky()) as http:
        client = client_for(http, store)
        client._progress = progress
        await asyncio.wait_for(client.run_forever(stop), timeout=20)
    assert store.pending_count() == 0
    assert [e.phase for e in events].count("retry") == 4
    assert store.syncs == [False] * 4 + [True]


def _answer(
    status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, json=body or {}, headers=headers)
    )


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (401, {"error": "invalid_token"}, AuthFailed, "enrol it again"),
        (409, {"error": "store_rolled_back"}, StoreRolledBack, "older copy"),
        (429, {}, RateLimited, "try again"),
        (503, {}, RateLimited, "busy"),
        (500, {}, ServerUnreachable, "try again"),
        (404, {"error": "not_found"}, ServerRejected, "refused"),
    ],
)
async def test_errors_are_sentences(
    status: int, body: dict[str, Any], error: type[Exception], words: str
) -> None:
    store = FakeStore()
    store.identity = DeviceIdentity("https://clinic.example", "d", "t")
    async with httpx.AsyncClient(transport=_answer(status, body, {"Retry-After": "7"})) as http:
        with pytest.raises(error) as caught:
            await client_for(http, store).sync_once()
    assert words in str(caught.value) and str(caught.value).endswith(".")


async def test_network_errors_and_enrollment_failures() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(ServerUnreachable, match="did not answer in time"):
            await enroll("https://clinic.example", "X", FakeStore(), http=http)
    async with httpx.AsyncClient(transport=_answer(400, {"error": "enroll_failed"})) as http:
        with pytest.raises(EnrollmentFailed, match="ask for a new one"):
            await enroll("https://clinic.example", "X", FakeStore(), http=http)


def test_plain_http_only_to_loopback() -> None:
    assert check_server_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert check_server_url("http://[::1]:8000") == "http://[::1]:8000"
    assert check_server_url("https://clinic.example") == "https://clinic.example"
    for bad in ("http://clinic.example", "http://10.0.0.5", "ftp://x", "clinic.example"):
        with pytest.raises(InsecureServer):
            check_server_url(bad)


def test_http_client_verifies_and_times_out(tmp_path: Path) -> None:
    client = make_http_client(Settings(timeout_s=3))
    assert client.timeout.read == 3
    with pytest.raises(FileNotFoundError):
        make_http_client(Settings(ca_bundle=tmp_path / "missing.pem"))


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    client = client_for(httpx.AsyncClient(), FakeStore(), retry_base_s=2, retry_max_s=60)
    delays = [client.backoff(n) for n in range(1, 8)]
    assert 1 <= delays[0] <= 2 and 30 <= delays[-1] <= 60
    assert client.backoff(1, retry_after=45) >= 45


def test_routine_syncs_of_a_fleet_drift_apart() -> None:
    # 200 laptops enrolled the same morning must not hit the server together all day
    rng = random.Random(7)
    waits = [
        SyncClient(
            httpx.AsyncClient(), FakeStore(), Settings(interval_s=60), rng=rng
        ).next_interval()
        for _ in range(200)
    ]
    assert all(45 <= wait <= 75 for wait in waits)
    assert max(waits) - min(waits) > 20
    assert len({round(wait, 3) for wait in waits}) > 150
