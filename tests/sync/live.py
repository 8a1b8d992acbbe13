"""A real uvicorn server in a child process on loopback, for end-to-end and fault tests."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """`fieldapp server run` (or a test factory) in a child process.

    `extra_args` go at the end of the command line. With `https_ca` the server is expected
    to serve TLS (give it --certfile/--keyfile in `extra_args`): `url` is https and the
    readiness probe trusts that CA file only.
    """

    def __init__(
        self,
        database_url: str,
        workers: int = 1,
        factory: str | None = None,
        env: dict[str, str] | None = None,
        extra_args: Sequence[str] = (),
        https_ca: Path | None = None,
    ) -> None:
        self.database_url, self.workers, self.factory = database_url, workers, factory
        self.port = free_port()
        scheme = "https" if https_ca is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.extra_args = list(extra_args)
        self.probe_verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(https_ca)) if https_ca is not None else True
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        """Start and wait until /health answers."""
        env = {
            **os.environ,
            "FIELDAPP_DATABASE_URL": self.database_url,
            "FIELDAPP_SERVER__CLINIC_TIMEZONE": "UTC",
            **self.extra_env,
        }
        if self.factory:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                self.factory,
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--log-level",
                "warning",
                "--workers",
                str(self.workers),
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "fieldapp",
                "server",
                "run",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ]
        command += self.extra_args
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                health = httpx.get(self.url + "/health", timeout=1, verify=self.probe_verify)
                if health.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        """Stop the server and its workers."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def wait_dead(self, timeout: float = 10) -> int | None:
        """Wait for the process to exit by itself (a test hook killed it)."""
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        finally:
            self.process = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
