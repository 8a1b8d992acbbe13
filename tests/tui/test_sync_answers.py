"""The app's own sync behind a captive portal: a sentence on the sync screen, the app up."""

from __future__ import annotations

from typing import Any

import httpx
from textual.widgets import Static

from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.sync import SyncScreen
from sync.client import WEB_PAGE, SyncClient
from sync.outbox import DeviceIdentity
from tests.tui.conftest import PASSPHRASE
from tests.tui.helpers import settle

PORTAL = b"<html><body>Sign in to Coffee Shop Wi-Fi</body></html>"


async def test_a_captive_portal_page_is_a_sentence_and_the_app_stays_up(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    store.unlock(PASSPHRASE)
    store.save_device_identity(DeviceIdentity("https://clinic.example", "d1", "fa1_" + "A" * 43))

    def portal(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=PORTAL, headers={"content-type": "text/html"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(portal)) as http:

        def factory(progress: Any) -> SyncClient:
            return SyncClient(http, store, settings.sync, progress=progress)

        app = FieldApp(store, settings, sync=factory, clock=clock)
        async with app.run_test(size=(100, 32)) as pilot:
            await settle(pilot)
            await pilot.press("f4")
            await settle(pilot)
            assert isinstance(app.screen, SyncScreen)
            await pilot.press("s")
            await settle(pilot)
            assert app.services.sync_state.error == WEB_PAGE
            shown = " ".join(str(w.render()) for w in app.screen.query(Static))
            assert "captive portal" in shown
            assert app.is_running and isinstance(app.screen, SyncScreen)
