"""A flood of bad tokens against the clinic server: what it costs the audit and a real device.

Issue 14 found that every refused token wrote an audit event, even when answered 429: a
10 s flood from 8 connections added 1,862 audit events and slowed a legitimate pull from
5 to 33 ms (each refusal queued on the audit chain's lock). Refusals are now counted per
address and audited once a window (`sync/server/refusals.py`).

Against `fieldapp server run` on loopback (PostgreSQL when it answers, else SQLite): one
enrolled device pulls its day again and again, first alone ("pull_ms_quiet", its same-run
baseline), then while 8 connections send bad tokens for --seconds ("pull_ms_flood"). The
figures: refusals sent, audit events they added, and the pull's median under the flood
over its median alone.

Run: .venv/bin/python benchmarks/refusal_bench.py [--seconds 10] [--connections 8]
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from sync.server.config import ServerSettings
from sync.server.db import make_engine, transaction
from sync.server.migrate import migrate
from sync.server.models import AuditEvent
from tests.sync.conftest import drop_pg_schema, new_pg_schema, pg_available, pg_url
from tests.sync.factories import World, seed
from tests.sync.live import LiveServer

BAD = {"Authorization": "Bearer fa1_" + "A" * 43}
PULL = {"cursor": None, "head": {"seq": 0, "chain_hash": "0" * 64}}


def audit_count(world: World) -> int:
    """Audit events stored now."""
    with transaction(world.engine) as session:
        return int(session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


async def pulls(url: str, token: str, until: float, limit: int) -> list[float]:
    """A device pulling its day, one pull after another: each pull's milliseconds."""
    times: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < until and len(times) < limit:
            began = time.perf_counter()
            answer = await http.post("/sync/pull", json=PULL, headers=headers)
            assert answer.status_code == 200, answer.text
            times.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(0.05)  # a device's pace, not a second flood
    return times


async def flood(url: str, until: float, sent: list[int]) -> None:
    """One connection sending bad tokens as fast as the server answers, until `until`."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while time.monotonic() < until:
            answer = await http.get("/me", headers=BAD)
            assert answer.status_code in (401, 429), answer.status_code
            sent.append(answer.status_code)


async def run(url: str, token: str, seconds: float, connections: int) -> dict[str, list[float]]:
    """The device alone, then under the flood."""
    quiet = await pulls(url, token, time.monotonic() + seconds, 400)
    until = time.monotonic() + seconds
    sent: list[int] = []
    flooded, *_ = await asyncio.gather(
        pulls(url, token, until, 400), *(flood(url, until, sent) for _ in range(connections))
    )
    return {"quiet": quiet, "flooded": flooded, "sent": [float(code) for code in sent]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    schema = new_pg_schema() if pg_available() else None
    with tempfile.TemporaryDirectory() as folder:
        url = pg_url(schema) if schema else f"sqlite:///{folder}/server.db"
        try:
            migrate(url)
            settings = ServerSettings(database_url=url, clinic_timezone="UTC")
            engine = make_engine(settings)
            world = seed(engine, settings, datetime.now(UTC).date())
            with LiveServer(url) as server:
                before = audit_count(world)
                figures = asyncio.run(
                    run(server.url, world.tokens["a"], args.seconds, args.connections)
                )
                added = audit_count(world) - before
            engine.dispose()
        finally:
            if schema:
                drop_pg_schema(schema)
    quiet, flooded = statistics.median(figures["quiet"]), statistics.median(figures["flooded"])
    sent = figures["sent"]
    pulls_made = len(figures["quiet"]) + len(figures["flooded"])
    print(f"database                {'PostgreSQL' if schema else 'SQLite'}")
    print(
        f"flood                   {len(sent)} bad tokens from {args.connections} connections "
        f"in {args.seconds:.0f} s ({sent.count(429)} answered 429)"
    )
    print(f"audit events added      {added} (of them {pulls_made} for the device's own pulls)")
    print(
        f"device's pull, median   {quiet:.1f} ms alone, {flooded:.1f} ms under the flood "
        f"({flooded / quiet:.2f}x)"
    )
    print(
        json.dumps(
            {
                "flood_refusals": len(sent),
                "flood_audit_events": added - pulls_made,
                "pull_ms_quiet": round(quiet, 2),
                "pull_ms_flood": round(flooded, 2),
                "pull_flood_over_quiet": round(flooded / quiet, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
