"""Backing up and restoring a test server's database, as a clinic's admin would.

SQLite: the online backup API (a consistent copy while the server writes). PostgreSQL:
`pg_dump` of the test's schema (one snapshot) and, to restore, the schema dropped and
`pg_restore`d from the dump. Either way the server is stopped during the restore.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.sync.conftest import PG_DSN, drop_pg_schema

SQLITE_PREFIX = "sqlite:///"


def _schema(url: str) -> str:
    """The schema a test PostgreSQL URL searches (`conftest.pg_url`)."""
    return unquote(url).rsplit("search_path=", 1)[1]


def backup_database(url: str, into: Path) -> None:
    """A consistent copy of the database at `url`, taken while it may be in use."""
    if url.startswith(SQLITE_PREFIX):
        source = sqlite3.connect(url.removeprefix(SQLITE_PREFIX))
        target = sqlite3.connect(into)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    subprocess.run(
        ["pg_dump", "--format=custom", f"--schema={_schema(url)}", f"--file={into}", PG_DSN],
        check=True,
    )


def restore_database(url: str, copy: Path) -> None:
    """Put the database at `url` back to `copy` (nothing may be using it meanwhile)."""
    if url.startswith(SQLITE_PREFIX):
        source = sqlite3.connect(copy)
        target = sqlite3.connect(url.removeprefix(SQLITE_PREFIX))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    drop_pg_schema(_schema(url))
    subprocess.run(["pg_restore", f"--dbname={PG_DSN}", str(copy)], check=True)


class RestoreSchedule:
    """Backups and restores at chosen request counts of a `FaultyTransport`.

    Each cycle takes a backup while the devices keep syncing, lets some more requests
    through, then stops the server, restores that backup and starts the server again.
    """

    def __init__(self, url: str, folder: Path, rng: random.Random, cycles: int = 3) -> None:
        self.url, self.folder = url, folder
        self.plan: list[tuple[int, str]] = []
        at = rng.randint(8, 25)
        for _ in range(cycles):
            self.plan.append((at, "backup"))
            at += rng.randint(10, 30)
            self.plan.append((at, "restore"))
            at += rng.randint(5, 20)
        self.latest: Path | None = None
        self.restores = 0  # begun so far
        self._turn = asyncio.Lock()  # one backup or restore at a time, in plan order

    @property
    def done(self) -> bool:
        """Whether every planned restore has happened."""
        return not self.plan

    async def on_request(self, transport: Any) -> None:
        """Run what is due at this request count (the request waits for it)."""
        if self.plan and transport.requests >= self.plan[0][0]:
            async with self._turn:
                await self._due(transport)

    async def _due(self, transport: Any) -> None:
        while self.plan and transport.requests >= self.plan[0][0]:
            _, action = self.plan.pop(0)
            if action == "backup":
                copy = self.folder / f"backup-{transport.requests}.dump"
                await asyncio.to_thread(backup_database, self.url, copy)
                self.latest = copy
                transport.seen["backup"] += 1
                continue
            assert self.latest is not None
            # Counted as it begins: a sync that ends after this may have been undone by it.
            self.restores += 1
            transport.down = True  # requests now fail as if the server were off
            while transport.active:
                await asyncio.sleep(0.005)
            transport.holder.app.state.ctx.engine.dispose()
            await asyncio.to_thread(restore_database, self.url, self.latest)
            transport.holder.restart()
            transport.down = False
            transport.seen["restore"] += 1
