"""`fieldapp` with no command: open the terminal app on the configured store."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fieldapp.errors import StoreError
from fieldapp.tui.collector import hold_for_launch, release_after_launch

if TYPE_CHECKING:
    from fieldapp.settings import Settings


def sync_factory(store: Any, settings: Settings) -> Callable[[Callable[[Any], None]], Any]:
    """Builds the sync client after unlock, when the store holds a device identity."""

    def build(progress: Callable[[Any], None]) -> Any:
        # The identity lives inside the encrypted store: it can only be read once unlocked.
        if store.device_identity() is None:
            return None
        from sync.client import SyncClient, make_http_client

        return SyncClient(make_http_client(settings.sync), store, settings.sync, progress=progress)

    return build


def run_app(args: argparse.Namespace) -> int:
    """Open the store (locked), build the app with it and run until the user quits."""
    hold_for_launch()  # no garbage collection until the first screen (see collector.py)
    try:
        return _run_app()
    finally:
        release_after_launch()


def _run_app() -> int:
    # Imported here so `fieldapp --help` and other commands never pay for Textual (nor for
    # pydantic, the settings' models, before the collector is held for the launch).
    from fieldapp.settings import load_settings
    from fieldapp.store.store import Store
    from fieldapp.tui.app import FieldApp

    settings = load_settings()
    path = settings.store.resolved_path()
    if not path.exists():
        raise StoreError(f"No store at {path}: create one with `fieldapp store init`.")
    store = Store.open(path, settings.store)
    try:
        FieldApp(store, settings, sync=sync_factory(store, settings)).run()
    except Exception as error:  # past the app's own boundary: a sentence, never a traceback
        from datetime import UTC, datetime

        from fieldapp.services.errorlog import error_log_path, record

        log = error_log_path(path)
        reference = record(log, error, "app", datetime.now(UTC))
        print(f"fieldapp stopped after an unexpected error, logged as {reference} in {log}.")
        return 1
    finally:
        store.close()
    return 0
