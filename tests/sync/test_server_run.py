"""`fieldapp server run` says where it listens, and refuses a port already taken."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from fieldapp.cli import main
from tests.sync.live import ROOT, free_port


def test_server_run_prints_its_address_and_answers_there(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    assert main(["server", "--database-url", url, "migrate"]) == 0
    port = free_port()
    command = [sys.executable, "-m", "fieldapp", "server", "--database-url", url, "run"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "the server printed nothing"
        line = server.stdout.readline()
        address = f"http://127.0.0.1:{port}"
        assert f"listening on {address}" in line and "SQLite" in line
        assert "sqlite:" not in line  # never the database URL
        for _ in range(300):
            try:
                if httpx.get(address + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                select.select([], [], [], 0.1)
        else:
            raise AssertionError("nothing answered at the printed address")
        taken = subprocess.run(
            [*command, "--port", str(port)], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert taken.returncode == 2 and "Cannot listen on 127.0.0.1" in taken.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
