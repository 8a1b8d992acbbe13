"""TLS end to end: `fieldapp server run --certfile/--keyfile` with a throwaway clinic CA.

A laptop that trusts the clinic's CA (`sync.ca_bundle`) syncs over https; one that does not
(system trust only, or another CA) is refused with a sentence about the certificate and
sends nothing; plain http to the TLS port fails cleanly and leaves the server serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fieldapp.cli import main
from sync.client import ServerUnreachable, UntrustedCertificate, make_http_client
from sync.dispatch_client import DispatchClient
from sync.server.db import transaction
from sync.server.models import DeviceRecordRow
from tests.sync.certs import TlsFiles, make_tls_files
from tests.sync.clientkit import Settings, client_for, device_store
from tests.sync.factories import World, vitals
from tests.sync.fakes import FakeStore
from tests.sync.live import LiveServer

READINGS = 5


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """The clinic's CA and the server's certificate and key, shared by this module."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(db_url: str, live_world: World, tls: TlsFiles) -> Iterator[LiveServer]:
    """`fieldapp server run` serving https with the test certificate."""
    certs = ["--certfile", str(tls.server_cert), "--keyfile", str(tls.server_key)]
    with LiveServer(db_url, extra_args=certs, https_ca=tls.ca_cert) as live:
        yield live


def _stored(live_world: World) -> int:
    with transaction(live_world.engine) as session:
        return int(session.execute(select(func.count()).select_from(DeviceRecordRow)).scalar_one())


def _laptop(live_world: World, server_url: str) -> FakeStore:
    """Clinician a's enrolled laptop with some readings waiting to go."""
    store = device_store(live_world, "a", server_url)
    p, v = live_world.patients["a"], live_world.visits["a"]
    for hr in range(60, 60 + READINGS):
        store.write(vitals(p.id, v.id, "a", hr=hr))
    return store


async def test_laptop_trusting_the_clinic_ca_syncs_over_https(
    live_world: World, server: LiveServer, tls: TlsFiles
) -> None:
    assert server.url.startswith("https://")
    store = _laptop(live_world, server.url)
    async with make_http_client(Settings(ca_bundle=tls.ca_cert)) as http:
        report = await client_for(http, store).sync_once()
    assert report.pushed == {"applied": READINGS}
    assert _stored(live_world) == READINGS
    assert store.pending_count() == 0
    assert live_world.visits["a"].id in store.of_kind("visit")


@pytest.mark.parametrize("trust", ["system only", "another CA"])
async def test_laptop_not_trusting_the_certificate_is_refused_and_sends_nothing(
    live_world: World, server: LiveServer, tmp_path: Path, trust: str
) -> None:
    ca_bundle = None if trust == "system only" else make_tls_files(tmp_path, "other CA").ca_cert
    store = _laptop(live_world, server.url)
    async with make_http_client(Settings(ca_bundle=ca_bundle)) as http:
        with pytest.raises(UntrustedCertificate) as refused:
            await client_for(http, store).sync_once()
    message = str(refused.value)
    assert "certificate" in message and "ca_bundle" in message
    assert "Traceback" not in message and "SSL" not in message
    # still a ServerUnreachable: background sync keeps retrying (a hotel network may be
    # intercepting https), and callers that handle "no server" need no change
    assert isinstance(refused.value, ServerUnreachable)
    assert _stored(live_world) == 0
    assert store.pending_count() == READINGS
    assert store.syncs == [False]


async def test_dispatcher_not_trusting_the_certificate_is_told_so(
    live_world: World, server: LiveServer, tls: TlsFiles
) -> None:
    async with make_http_client(Settings(ca_bundle=None)) as http:
        office = DispatchClient(http, server.url, live_world.tokens["disp"])
        with pytest.raises(UntrustedCertificate, match="certificate is not trusted"):
            await office.board(datetime.now(UTC).date())
    async with make_http_client(Settings(ca_bundle=tls.ca_cert)) as http:
        board = await DispatchClient(http, server.url, live_world.tokens["disp"]).board(
            datetime.now(UTC).date()
        )
    assert board is not None


async def test_plain_http_to_the_tls_port_fails_cleanly(
    live_world: World, server: LiveServer, tls: TlsFiles
) -> None:
    plain_url = server.url.replace("https://", "http://")
    store = _laptop(live_world, plain_url)
    async with make_http_client(Settings(ca_bundle=tls.ca_cert)) as http:
        with pytest.raises(ServerUnreachable) as failed:
            await client_for(http, store).sync_once()
        assert "certificate" not in str(failed.value)  # not a trust problem
        assert _stored(live_world) == 0 and store.pending_count() == READINGS
        # the garbage did not hurt the server: the same laptop over https goes through
        store.identity = device_store(live_world, "a", server.url).identity
        report = await client_for(http, store).sync_once()
    assert report.pushed == {"applied": READINGS}


def _must_not_serve(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("the server started with half a TLS configuration")


@pytest.mark.parametrize("given", ["--certfile", "--keyfile"])
def test_server_run_refuses_half_a_tls_configuration(
    given: str, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # refused before any database is opened, so one kind of database is enough
    url = f"sqlite:///{tmp_path}/server.db"
    monkeypatch.setattr("uvicorn.run", _must_not_serve)  # a regression fails, not hangs
    status = main(["server", "--database-url", url, "run", given, str(tmp_path / "x.pem")])
    assert status == 2
    assert "Give both --certfile and --keyfile, or neither." in capsys.readouterr().err
