"""SECURITY.md 26: any answer, a captive portal's web page with status 200 included, ends in
a sentence (a `SyncError`), never a traceback: in the client, `fieldapp enroll` and
`fieldapp sync` (the app's sync is in tests/tui/test_sync_answers.py)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.cli import main
from fieldapp.settings import StoreSettings
from fieldapp.store import Store
from sync.client import NOT_UNDERSTOOD, WEB_PAGE, ServerUnreachable, SyncError, enroll
from sync.outbox import DeviceIdentity
from tests.sync.clientkit import client_for
from tests.sync.factories import vitals
from tests.sync.fakes import FakeStore

PORTAL = b"<!DOCTYPE html><html><body><h1>Welcome to Hotel Wi-Fi</h1>Accept terms</body></html>"
PASSPHRASE = "correct horse battery"


def _enrolled_store() -> FakeStore:
    store = FakeStore()
    store.identity = DeviceIdentity("https://clinic.example", "d", "t")
    store.write(vitals(uuid.uuid4(), uuid.uuid4(), "a"))
    return store


def _always(response: httpx.Response) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: response)


PAGES = {
    "portal 200": httpx.Response(200, content=PORTAL, headers={"content-type": "text/html"}),
    "portal without a content type": httpx.Response(200, content=b"  \n<html>hi</html>"),
    "redirect to the portal": httpx.Response(302, headers={"location": "http://portal.example/"}),
    "portal 403": httpx.Response(403, content=PORTAL, headers={"content-type": "text/html"}),
}
NOT_THE_API = {
    "plain text": httpx.Response(200, content=b"OK", headers={"content-type": "text/plain"}),
    "json list": httpx.Response(200, json=[1, 2]),
    "json of another service": httpx.Response(200, json={"status": "ok"}),
    "results of the wrong type": httpx.Response(200, json={"results": [{"seq": "1"}]}),
    "truncated json": httpx.Response(
        200, content=b'{"results": [', headers={"content-type": "application/json"}
    ),
}


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_a_web_page_asks_about_a_captive_portal(name: str) -> None:
    async with httpx.AsyncClient(transport=_always(PAGES[name])) as http:
        with pytest.raises(ServerUnreachable) as synced:  # retried, like a network down
            await client_for(http, _enrolled_store()).sync_once()
        with pytest.raises(ServerUnreachable) as enrolled:
            await enroll("https://clinic.example", "CODE", FakeStore(), http=http)
    assert str(synced.value) == str(enrolled.value) == WEB_PAGE
    assert "captive portal" in WEB_PAGE


@pytest.mark.parametrize("name", sorted(NOT_THE_API))
async def test_an_answer_of_the_wrong_shape_is_a_sentence(name: str) -> None:
    async with httpx.AsyncClient(transport=_always(NOT_THE_API[name])) as http:
        with pytest.raises(ServerUnreachable, match="not one this app understands"):
            await client_for(http, _enrolled_store()).sync_once()
        with pytest.raises(ServerUnreachable) as enrolled:
            await enroll("https://clinic.example", "CODE", FakeStore(), http=http)
    assert str(enrolled.value) == NOT_UNDERSTOOD


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "results",
                    "upserts",
                    "removals",
                    "cursor",
                    "more",
                    "seq",
                    "status",
                    "kind",
                    "record",
                    "id",
                    "revoked",
                    "device_id",
                    "token",
                    "reason",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@given(push=JSON, pull=JSON)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
async def test_any_json_answer_ends_in_a_sync_error_or_a_round(push: Any, pull: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=push if request.url.path == "/sync/push" else pull)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        try:
            await client_for(http, _enrolled_store()).sync_once()
        except SyncError as exc:
            assert str(exc).endswith(".") or str(exc).endswith("again.")


class _Portal(BaseHTTPRequestHandler):
    """A hotel network's captive portal: every address answers its page, status 200."""

    def _page(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PORTAL)))
        self.end_headers()
        self.wfile.write(PORTAL)

    do_GET = do_POST = _page

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def portal() -> Iterator[str]:
    """A captive portal on loopback, over real HTTP."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fieldapp_enroll_and_sync_behind_a_captive_portal(
    portal: str, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "FIELDAPP_STORE__KDF_MEMORY_KIB": "19456",
        "FIELDAPP_STORE__KDF_ITERATIONS": "2",
        "FIELDAPP_STORE__KDF_LANES": "1",
        "FIELDAPP_PASSPHRASE": PASSPHRASE,
        "FIELDAPP_USER_CONFIG": str(tmp_path / "none.toml"),
    }.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "c01.store"
    fast = StoreSettings(kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1)
    Store.create(path, PASSPHRASE, fast).close()

    capsys.readouterr()
    assert main(["enroll", "--store", str(path), "--server", portal, "--code", "AB-CD"]) == 2
    err = capsys.readouterr().err
    assert err == f"fieldapp: {WEB_PAGE}\n"

    with Store.open(path, fast) as store:  # enrolled earlier, at the clinic
        store.unlock(PASSPHRASE)
        store.save_device_identity(DeviceIdentity(portal, "device-1", "fa1_" + "A" * 43))
    assert main(["sync", "--store", str(path)]) == 2
    assert capsys.readouterr().err == f"fieldapp: {WEB_PAGE}\n"  # one sentence, no traceback
