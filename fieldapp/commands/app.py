"""`fieldapp` with no command: open the terminal app on the configured store."""

from __future__ import annotations

import argparse

from fieldapp.errors import StoreError
from fieldapp.settings import load_settings


def run_app(args: argparse.Namespace) -> int:
    """Open the store (locked), build the app with it and run until the user quits."""
    # Imported here so `fieldapp --help` and other commands never pay for Textual.
    from fieldapp.store.store import Store
    from fieldapp.tui.app import FieldApp

    settings = load_settings()
    path = settings.store.resolved_path()
    if not path.exists():
        raise StoreError(f"No store at {path}: create one with `fieldapp store init`.")
    store = Store.open(path, settings.store)
    sync = None
    if settings.sync.server_url:
        import httpx

        from sync.client import SyncClient, make_http_client

        http: httpx.AsyncClient = make_http_client(settings.sync)
        sync = SyncClient(http, store, settings.sync)
    try:
        FieldApp(store, settings, sync=sync).run()
    finally:
        store.close()
    return 0
