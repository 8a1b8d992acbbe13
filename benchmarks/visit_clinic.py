"""The clinic behind `visit_keys.py`: a real clinic server, with the laptop and a
prescriber enrolled with it, for the visits whose checklist holds.

The server is the demo's (`fieldapp.demo.stack`): the day, the clinic's protocol documents
and the clinicians' profiles loaded by `load_server`, served by uvicorn on loopback on the
demo's clock (the machine's, moved by whole days to the demo day, so the day is the
clinic's today and in the laptop's scope). The prescriber and the second checker are
added, and the two stores enrolled, with the commands a clinic uses (`fieldapp server user
add`, `enroll-code`, `fieldapp store init`, `fieldapp enroll`). The prescriber answers in
the review console (`fieldapp review`'s `ReviewApp` over its `ReviewDesk` and
`ApprovalClient`), built as the command builds it but dating its answers by the same
demo clock as the clinic: a console on the machine's own date would answer a request on
the demo day months after it expired.

    python benchmarks/visit_clinic.py serve PORT SHIFT_DAYS     (the server, until stopped)
    python benchmarks/visit_clinic.py review STORE SHIFT_DAYS   (the console)

Both need the checkout measured on PYTHONPATH and its store settings in the environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

PRESCRIBER_USER = "drp"
"""The prescriber's clinic account: the console's user, who signs the answers."""
PRESCRIBER_PASSPHRASE = "prescriber console passphrase"
START_S = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_clock(shift_days: int) -> Any:
    """The demo's clock: the machine's, moved by `shift_days`, told in the clinic's zone."""
    from fieldapp.demo.stack import DemoClock, clinic_zone
    from sync.server.config import load_server_settings

    return DemoClock(clinic_zone(load_server_settings()), timedelta(days=shift_days))


class Clinic:
    """The server process and the prescriber's store, in `folder` (the benchmark's)."""

    def __init__(self, folder: Path, root: Path, env: dict[str, str]) -> None:
        self.folder, self.root = folder, root
        self.env = {**os.environ, **env, "FIELDAPP_DATABASE_URL": f"sqlite:///{folder}/clinic.db"}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prescriber_store = folder / f"{PRESCRIBER_USER}.store"
        self.server: subprocess.Popen[bytes] | None = None
        self.shift_days = 0

    def fieldapp(self, *args: str, passphrase: str | None = None) -> str:
        """One `fieldapp` command of the checkout measured; its output."""
        env = dict(self.env)
        if passphrase is not None:
            env["FIELDAPP_PASSPHRASE"] = passphrase
        done = subprocess.run(
            [sys.executable, "-m", "fieldapp", *args],
            env=env,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"fieldapp {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def code_for(self, user: str) -> str:
        """A one-time enrolment code for `user`."""
        out = self.fieldapp("server", "enroll-code", user)
        return out.split(f"enrollment code for {user}:", 1)[1].split()[0]

    def start(self, day: date, clinician: str, checker: str, laptop: Path, passphrase: str) -> None:
        """The clinic with the day loaded and running; the laptop and prescriber enrolled."""
        from fieldapp.demo.seattle import demo_day
        from fieldapp.demo.stack import clinic_zone, load_server
        from sync.server.config import load_server_settings

        self.fieldapp("server", "migrate")
        settings = load_server_settings(database_url=self.env["FIELDAPP_DATABASE_URL"])
        here = clinic_zone(settings)
        self.shift_days = (day - demo_clock(0).source().astimezone(here).date()).days
        now = demo_clock(self.shift_days).now().timestamp()
        laptop_code = load_server(settings, demo_day(day), clinician, now)
        self.fieldapp("server", "user", "add", PRESCRIBER_USER, "--role", "prescriber")
        self.fieldapp("server", "user", "add", checker, "--role", "clinician")
        script = str(Path(__file__).resolve())
        self.server = subprocess.Popen(
            [sys.executable, script, "serve", str(self.port), str(self.shift_days)],
            env=self.env,
            cwd=self.root,
            stdout=(self.folder / "server.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()
        self.fieldapp(
            "store", "init", "--store", str(self.prescriber_store), passphrase=PRESCRIBER_PASSPHRASE
        )
        for store, code, secret in (
            (laptop, laptop_code, passphrase),
            (self.prescriber_store, self.code_for(PRESCRIBER_USER), PRESCRIBER_PASSPHRASE),
        ):
            self.fieldapp(
                *("enroll", "--store", str(store), "--server", self.url, "--code", code),
                passphrase=secret,
            )

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            assert self.server is not None
            if self.server.poll() is not None:
                log = (self.folder / "server.log").read_text(errors="replace")
                raise RuntimeError(f"the clinic server stopped:\n{log[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the clinic server did not answer in time")

    def review_command(self, store_env: dict[str, str]) -> str:
        """The shell command that opens the prescriber's console on their store."""
        env = {
            **store_env,
            "FIELDAPP_STORE__USER": PRESCRIBER_USER,
            "FIELDAPP_PASSPHRASE": PRESCRIBER_PASSPHRASE,
        }
        script = str(Path(__file__).resolve())
        return " ".join(
            [
                "env",
                *(f"{k}='{v}'" for k, v in env.items()),
                *(sys.executable, script, "review", str(self.prescriber_store)),
                str(self.shift_days),
            ]
        )

    def stop(self) -> None:
        """Stop the server this clinic started."""
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()


def serve(port: int, shift_days: int) -> None:
    """The clinic server on loopback, on the demo's clock, until stopped."""
    import uvicorn

    from sync.server.config import load_server_settings
    from sync.server.main import create_app

    app = create_app(load_server_settings(), demo_clock(shift_days).now)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def review(store_path: Path, shift_days: int) -> None:
    """The prescriber's console over their enrolled store, as `fieldapp review` builds it,
    its answers dated by the demo's clock."""
    import asyncio

    from fieldapp.services.review import ReviewDesk
    from fieldapp.settings import load_settings
    from fieldapp.store import Store
    from fieldapp.tui.review.app import ReviewApp
    from sync.approval_client import ApprovalClient
    from sync.client import make_http_client

    settings = load_settings()
    store = Store.open(store_path, settings.store)
    try:
        store.unlock(os.environ["FIELDAPP_PASSPHRASE"])
        identity = store.device_identity()
        assert identity is not None, "the prescriber's store is not enrolled"

        async def who() -> dict[str, object]:
            async with make_http_client(settings.sync) as http:
                return await ApprovalClient(http, identity, settings.sync.timeout_s).me()

        me = asyncio.run(who())
        client = ApprovalClient(make_http_client(settings.sync), identity, settings.sync.timeout_s)
        clock = demo_clock(shift_days)
        desk = ReviewDesk(client, store, str(me["user"]), str(me["role"]), clock=clock.now)
        ReviewApp(desk).run()
    finally:
        store.close()


if __name__ == "__main__":
    what, where, shift = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if what == "serve":
        serve(int(where), shift)
    else:
        review(Path(where), shift)
