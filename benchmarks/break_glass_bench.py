"""What break-glass adds to the busiest route: an up-to-date pull, in process, over HTTP.

One clinician's laptop pulls again and again after its cursor (nothing changed: the
commonest pull of the day), through the app in process (httpx ASGI transport, SQLite), in
three phases interleaved in the same run: with the pull's grant lookup taken out
(`for_pull` replaced by "no grants": the pull as it was before break-glass,
"pull_ms_before"), with the lookup and no grant ("pull_ms_none"), and for a clinician
holding a grant of another clinician's patient ("pull_ms_granted": that patient is in the
scope and the manifest). The figures are the medians and their ratios to the first.

Run: .venv/bin/python benchmarks/break_glass_bench.py [--pulls 50] [--rounds 8]
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
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.server import break_glass
from sync.server.config import ServerSettings
from sync.server.main import create_app
from sync.server.migrate import migrate
from tests.sync.conftest import TODAY, Clock
from tests.sync.factories import seed

HEAD = {"seq": 0, "chain_hash": "0" * 64}


async def cursor_of(http: httpx.AsyncClient, token: str) -> str:
    """The cursor after a first, whole pull."""
    headers = {"Authorization": f"Bearer {token}"}
    first = await http.post("/sync/pull", json={"cursor": None, "head": HEAD}, headers=headers)
    return str(first.json()["cursor"])


async def pulls(http: httpx.AsyncClient, token: str, cursor: str, count: int) -> list[float]:
    """`count` pulls after `cursor`: each pull's milliseconds."""
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for _ in range(count):
        began = time.perf_counter()
        answer = await http.post(
            "/sync/pull", json={"cursor": cursor, "head": HEAD}, headers=headers
        )
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, answer.text
    return times


async def main(count: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/server.db"
        migrate(url)
        settings = ServerSettings(database_url=url, clinic_timezone="UTC")
        app = create_app(settings, clock=Clock(TODAY))
        # a holds a grant of b's patient; c, alike in every other way, holds none
        world = seed(app.state.ctx.engine, settings, TODAY, clinicians=3)
        transport = httpx.ASGITransport(app=app)
        times: dict[str, list[float]] = {"before": [], "none": [], "granted": []}
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            asked = await http.post(
                "/break-glass",
                json={
                    "patient_id": str(world.patients["b"].id),
                    "reason_code": "colleague_unavailable",
                    "reason": "benchmark: colleague b unavailable",
                },
                headers={"Authorization": f"Bearer {world.tokens['a']}"},
            )
            assert asked.status_code == 201, asked.text
            cursors = {who: await cursor_of(http, world.tokens[who]) for who in ("a", "c")}
            await pulls(http, world.tokens["c"], cursors["c"], 20)  # warm up
            real = break_glass.for_pull
            # Phases interleaved round by round, so a busy moment of the machine falls on
            # all three alike.
            for _ in range(rounds):
                break_glass.for_pull = lambda *_args: break_glass.PullGrants({}, [])  # type: ignore[assignment]
                try:
                    times["before"] += await pulls(http, world.tokens["c"], cursors["c"], count)
                finally:
                    break_glass.for_pull = real  # type: ignore[method-assign]
                times["none"] += await pulls(http, world.tokens["c"], cursors["c"], count)
                times["granted"] += await pulls(http, world.tokens["a"], cursors["a"], count)
        app.state.ctx.engine.dispose()
    median = {phase: statistics.median(found) for phase, found in times.items()}
    return {
        "pulls_per_phase": count * rounds,
        "database": "sqlite",
        "pull_ms_before": round(median["before"], 3),
        "pull_ms_none": round(median["none"], 3),
        "pull_ms_granted": round(median["granted"], 3),
        "none_over_before": round(median["none"] / median["before"], 3),
        "granted_over_before": round(median["granted"] / median["before"], 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pulls", type=int, default=50, help="pulls a phase, each round")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.pulls, args.rounds))))
