"""Building sync clients over an app in process or a live server, and the stores they sync."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fieldapp.store import Store
from sync.client import SyncClient, enroll
from sync.outbox import DeviceIdentity
from sync.server.auth import create_enroll_code
from sync.server.db import transaction
from tests.store.factory import FAST, PASSPHRASE, new_store
from tests.sync.factories import T0, World
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


def client_for(http: httpx.AsyncClient, store: Any, **settings: Any) -> SyncClient:
    """A SyncClient with quick retries."""
    return SyncClient(http, store, Settings(**settings))


async def enrolled_store(path: Path, http: httpx.AsyncClient, world: World, who: str) -> Store:
    """A real encrypted store at `path`, enrolled as a new device of `who` (unlocked)."""
    store = new_store(path)
    with transaction(world.engine) as session:
        code, _ = create_enroll_code(session, who, world.settings, T0)
    await enroll("http://127.0.0.1", code, store, http=http, device_name="test laptop")
    return store


def reopened(store: Store) -> Store:
    """The same store file closed and opened again, unlocked (the unlock checks run)."""
    store.close()
    again = Store.open(store.path, FAST)
    again.unlock(PASSPHRASE)
    return again


def edit_store_file(path: Path, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Change the store file behind the app's back, as a process with file access could."""
    with sqlite3.connect(path) as conn:
        changed = conn.execute(sql, params).rowcount
    conn.close()
    return int(changed)
