"""Two builds' sync cost side by side: what one device's push and pull cost each server.

Each checkout's own server (`fieldapp server run`, one worker, its own venv) serves its own
PostgreSQL schema, migrated by that checkout. Devices sync (push 100 records, pull the
day) one at a time, each device to one server and the next to the other, and the CPU of
each server process and of the PostgreSQL backends serving it is counted per device. On a
machine whose speed swings from one minute to the next (other work on its two cores), the
swings fall on both builds alike, which the bursts of `sync_bench.py` run one build after
the other cannot promise.

Run: .venv/bin/python benchmarks/sync_ab.py OTHER_CHECKOUT [--devices 300]
(about a minute; the other checkout needs its own .venv). Prints ms a device for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sync_bench as bench

from tests.sync.live import free_port

HERE = Path(__file__).resolve().parents[1]
WARM = 5  # devices synced first against each server (pools, prepared statements)


def serve(checkout: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    """A checkout's own server on a free loopback port, once /health answers."""
    port = free_port()
    env = {
        **os.environ,
        "FIELDAPP_DATABASE_URL": url,
        "FIELDAPP_SERVER__CLINIC_TIMEZONE": "UTC",
    }
    command = [str(checkout / ".venv/bin/python"), "-m", "fieldapp", "server", "run"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "1"],
        cwd=checkout,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError(f"the server of {checkout} did not start")


def migrate_with(checkout: Path, url: str) -> None:
    """Migrate a schema with the checkout's own migrations."""
    code = f"from sync.server.migrate import migrate; migrate({url!r})"
    subprocess.run([str(checkout / ".venv/bin/python"), "-c", code], cwd=checkout, check=True)


def main() -> None:
    """Both servers, the devices alternated, the CPU a device of each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("other", type=Path, help="the other checkout (with its own .venv)")
    parser.add_argument("--devices", type=int, default=300, help="devices synced to each")
    args = parser.parse_args()
    if not bench.pg_available():
        sys.exit("PostgreSQL does not answer at 127.0.0.1:5432 (needed for this benchmark)")
    builds = {"this": HERE, "other": args.other.resolve()}
    schemas: list[str] = []
    servers: list[subprocess.Popen[bytes]] = []
    try:
        setups = {}
        for name, checkout in builds.items():
            schema = bench.new_pg_schema()
            schemas.append(schema)
            url = bench.pg_url(schema)
            migrate_with(checkout, url)
            settings = bench.ServerSettings(database_url=url, clinic_timezone="UTC")
            engine = bench.make_engine(settings)
            world = bench.seed(
                engine, settings, datetime.now(UTC).date(), clinicians=args.devices + WARM
            )
            engine.dispose()
            tagged_url, tag = bench.tagged(url)
            process, base = serve(checkout, tagged_url)
            servers.append(process)
            stores = [bench.filled_store(world, who, 100, base) for who in world.patients]
            setups[name] = (process.pid, tag, stores)
        tls = ssl.create_default_context()
        cpu = {name: [0.0, 0.0] for name in builds}

        async def go() -> None:
            for _, _, stores in setups.values():
                for store in stores[:WARM]:
                    await bench._one_device(store, [], 0.0, tls)
            for i in range(WARM, WARM + args.devices):
                order = list(builds) if i % 2 else list(reversed(builds))
                for name in order:  # who goes first alternates too
                    pid, tag, stores = setups[name]
                    server_before = bench.process_tree_cpu_s(pid)
                    database_before = bench.backends_cpu_s(tag)
                    await bench._one_device(stores[i], [], 0.0, tls)
                    cpu[name][0] += bench.process_tree_cpu_s(pid) - server_before
                    cpu[name][1] += bench.cpu_since(database_before, bench.backends_cpu_s(tag))

        asyncio.run(go())
        for name, checkout in builds.items():
            server, database = (seconds / args.devices * 1000 for seconds in cpu[name])
            print(
                f"{name} ({checkout}): server {server:.2f} ms a device, "
                f"PostgreSQL {database:.2f}, together {server + database:.2f}"
            )
    finally:
        for process in servers:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        for schema in schemas:
            bench.drop_pg_schema(schema)


if __name__ == "__main__":
    main()
