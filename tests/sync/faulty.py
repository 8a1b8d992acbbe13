"""An httpx transport that loses, delays, breaks and repeats requests to an app in process,
and (with a `backups.RestoreSchedule`) restores the server's database from older backups."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

FAULTS = ("drop", "timeout", "error_before", "lost_reply", "error_after", "duplicate", "restart")


class AppHolder:
    """The current server app; `restart()` builds a fresh one (new engine, same database)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.app = factory()
        self.restarts = 0

    def restart(self) -> None:
        """Throw the old app away, as a process restart would."""
        self.app.state.ctx.engine.dispose()
        self.app = self.factory()
        self.restarts += 1

    def close(self) -> None:
        """Dispose of the current app's engine."""
        self.app.state.ctx.engine.dispose()


class FaultyTransport(httpx.AsyncBaseTransport):
    """Each request meets one fault with probability `rate` (chosen by a seeded RNG)."""

    def __init__(
        self, holder: AppHolder, rng: random.Random, rate: float = 0.3, restores: Any = None
    ) -> None:
        self.holder, self.rng, self.rate, self.restores = holder, rng, rate, restores
        self.seen: Counter[str] = Counter()
        self.requests = 0  # requests seen so far (what a restore schedule counts)
        self.active = 0  # requests inside the app right now
        self.down = False  # the server is off for a restore

    async def _forward(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        copy = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.content
        )
        self.active += 1
        try:
            response = await httpx.ASGITransport(app=self.holder.app).handle_async_request(copy)
            await response.aread()
        finally:
            self.active -= 1
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests += 1
        if self.restores is not None:
            await self.restores.on_request(self)
        fault = self.rng.choice(FAULTS) if self.rng.random() < self.rate else "none"
        self.seen[fault] += 1
        if fault == "drop":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if fault == "error_before":
            return httpx.Response(500, json={"error": "boom"})
        if fault == "restart":
            self.holder.restart()
        response = await self._forward(request)
        if fault == "lost_reply":
            raise httpx.ReadTimeout("reply lost", request=request)
        if fault == "error_after":
            return httpx.Response(500, json={"error": "boom"})
        if fault == "duplicate":
            response = await self._forward(request)
        return response
