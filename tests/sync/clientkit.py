"""Building sync clients over an app in process or a live server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sync.client import SyncClient
from sync.outbox import DeviceIdentity
from tests.sync.factories import World
from tests.sync.fakes import FakeStore


@dataclass(frozen=True)
class Settings:
    """Client settings (the shape of fieldapp's SyncSettings)."""

    timeout_s: float = 10
    batch_size: int = 200
    retry_base_s: float = 0.01
    retry_max_s: float = 0.05
    interval_s: float = 60
    ca_bundle: Path | None = None


def device_store(world: World, who: str, server_url: str = "http://127.0.0.1") -> FakeStore:
    """A fake store enrolled as `who`'s seeded device."""
    store = FakeStore()
    store.identity = DeviceIdentity(server_url, world.device_ids[who], world.tokens[who])
    return store


def client_for(http: httpx.AsyncClient, store: FakeStore, **settings: Any) -> SyncClient:
    """A SyncClient with quick retries."""
    return SyncClient(http, store, Settings(**settings))
