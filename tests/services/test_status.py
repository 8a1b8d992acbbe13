"""The status line tells the truth about the connection: offline only after a round failed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fieldapp.services.status import status_info
from tests.tui.conftest import PASSPHRASE


def report() -> Any:
    """A sync report as the client gives it (only what `finish` reads)."""
    return SimpleNamespace(pushed={}, pulled=0, pending=0, set_aside=0, summary=lambda: "ok")


def test_offline_only_while_rounds_fail(app: Any, clock: Any) -> None:
    services = app.services
    services.store.unlock(PASSPHRASE)
    services.sync = object()  # enrolled: a client is there
    state = services.sync_state
    state.begin(clock.now())
    assert "syncing" in status_info(services).sync_text()
    state.finish(report(), clock.now())
    clock.advance(minutes=7)  # online, between two rounds: no "offline"
    assert "offline" not in status_info(services).sync_text()
    state.begin(clock.now())
    state.fail(ConnectionError("no route"), clock.now())
    assert status_info(services).sync_text().endswith("offline")
    clock.advance(minutes=3)
    state.begin(clock.now())
    state.fail(ConnectionError("no route"), clock.now())
    assert status_info(services).sync_text().endswith("offline 3 min")
    state.begin(clock.now())
    state.finish(report(), clock.now())
    assert "offline" not in status_info(services).sync_text()


def test_the_last_sync_is_read_on_the_clinics_clock(app: Any, clock: Any) -> None:
    from datetime import UTC

    services = app.services
    services.store.unlock(PASSPHRASE)
    services.sync = object()  # enrolled
    services.store.record_sync(clock.now().astimezone(UTC), ok=True)  # as the client does
    text = status_info(services).sync_text()
    assert f"last sync {clock.now():%H:%M}" in text  # 08:30 in Seattle, not 16:30 UTC
