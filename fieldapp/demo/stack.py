"""The whole demo on one machine: a clinic server on SQLite, the day loaded, a laptop enrolled.

`DemoStack.start()` builds it in a new folder: migrate the server database, load the
synthetic day and the clinic's protocol documents, add the demo clinicians, prescriber,
supervisor and second checker (`load_server`), serve the API
with uvicorn on loopback in a background thread, create the clinician's encrypted store,
enrol it with a one-time code over real HTTP, and sync once. `DemoStack.resume()` opens
such a folder again (its server, its store, the same day). `stop()` shuts the server.

A running demo holds a lock on its folder: a second demo never starts in it, resumes it
or deletes it, and nothing here ever deletes a folder it did not make.

Time: the clinic's timezone (`clinic_timezone` in the server config) decides "today"
everywhere. The demo's clock is the machine's, moved by whole days so that the clinic's
today is the demo day, and told in the clinic's zone: the server and the app share it, so
a machine whose own (UTC) date is already tomorrow still shows the clinic's day.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import uvicorn

from fieldapp.config import config_dir
from fieldapp.demo.clinic import add_answerers
from fieldapp.demo.recorded import SECOND_CHECKER, SECOND_CHECKER_PIN
from fieldapp.demo.seattle import DemoDay, demo_day, stable_id
from fieldapp.errors import FieldAppError
from fieldapp.settings import Settings
from fieldapp.store import Store
from fieldapp.store.duress_box import DuressBox
from sync.client import SyncClient, SyncReport, enroll, make_http_client
from sync.records import ProtocolDocument
from sync.server import audit, crud, profiles
from sync.server.auth import create_enroll_code
from sync.server.checker_codes import issue_audited
from sync.server.config import ServerSettings, load_server_settings
from sync.server.db import make_engine, transaction
from sync.server.deps import Clock
from sync.server.main import create_app
from sync.server.migrate import migrate

DEMO_PASSPHRASE = "demo passphrase, synthetic data only"  # noqa: S105 (printed by the demo)
DEMO_CLINICIAN = "c01"
MARKER = "demo.json"
"""The file that makes a folder a demo's: its day and clinician."""
LOCK = "demo.lock"


class DemoError(FieldAppError):
    """A demo cannot start or resume here; the message says why and what to do."""


def machine_now() -> datetime:
    """The machine's own clock (UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DemoClock:
    """The machine's clock moved by whole days, told in the clinic's timezone."""

    zone: ZoneInfo
    shift: timedelta
    source: Callable[[], datetime] = machine_now

    def now(self) -> datetime:
        """The demo's now: the clinic's time of day, on the demo day."""
        return (self.source() + self.shift).astimezone(self.zone)

    @classmethod
    def on(cls, day: date, zone: ZoneInfo, source: Callable[[], datetime]) -> DemoClock:
        """A clock whose clinic date today is `day`."""
        return cls(zone, timedelta(days=(day - source().astimezone(zone).date()).days), source)


def protocol_documents() -> list[ProtocolDocument]:
    """The clinic's protocol, vocabulary and checklist templates, as records a device pulls."""
    files = [
        config_dir() / "protocol.toml",
        config_dir() / "vocabulary.toml",
        *sorted((config_dir() / "checklists").glob("*.toml")),
    ]
    docs = []
    for path in files:
        name = path.stem if path.parent == config_dir() else f"checklist.{path.stem}"
        docs.append(
            ProtocolDocument(
                id=stable_id("protocol_doc", name),
                name=name,
                doc_version=1,
                content_toml=path.read_text(encoding="utf-8"),
            )
        )
    return docs


def demo_profiles(day: DemoDay) -> dict[str, dict[str, Any]]:
    """Synthetic credentials for the day's clinicians, all current (so the checklists
    take them from the clinic), each expiring on its own synthetic date."""
    states = sorted({visit.address.state for visit in day.visits})
    return {
        person.id: {
            "acls_expires": day.day + timedelta(days=200 + 45 * index),
            "licence_active": True,
            "licence_expires": day.day + timedelta(days=500 + 30 * index),
            "prescriber": "Dr. Demo Prescriber",
            "prescriber_dea_states": states,
        }
        for index, person in enumerate(day.clinicians)
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load_server(
    settings: ServerSettings, day: DemoDay, clinician: str, now: float | None = None
) -> str:
    """Put the day into the server database; return a one-time enrolment code.

    `now` is the server's time (its clock, when that is moved: the code must not have
    expired by it)."""
    engine = make_engine(settings)
    now = time.time() if now is None else now
    try:
        with transaction(engine) as session:
            for person in day.clinicians:
                crud.add_user(session, person.id, "clinician", now, person.name)
            crud.add_user(session, "dispatch", "dispatcher", now, "Demo Dispatcher")
            # who answers approvals and who checks doses: their keys are filed when their
            # consoles enrol (`fieldapp.demo.clinic`) and when a laptop enrols the checker
            add_answerers(session, now)
            crud.add_user(session, SECOND_CHECKER, "clinician", now, "RN Demo Checker")
            for patient in day.patients:
                crud.put_patient_summary(session, patient, now)
            for visit in day.visits:
                crud.put_visit(session, visit, now)
            for doc in protocol_documents():
                crud.put_protocol_doc(session, doc, now)
            for name, credentials in demo_profiles(day).items():
                profiles.put_profile(session, name, credentials, "demo", now)
            code, _expires = create_enroll_code(session, clinician, settings, now)
            audit.append(session, actor="demo", action="import_day", outcome="ok", detail={})
            return str(code)
    finally:
        engine.dispose()


def enrol_demo_checker(settings: ServerSettings, store: Store, now: float) -> None:
    """Enrol the demo's second checker on the laptop, with the one-time code the clinic
    issues to them (as `fieldapp checker-code` on their own laptop would get it) and their
    demo PIN, so the dose screen's double-check can be tried; the first sync files the key."""
    engine = make_engine(settings)
    try:
        with transaction(engine) as session:
            code, _ = issue_audited(session, SECOND_CHECKER, "demo", settings, now)
    finally:
        engine.dispose()
    store.enrol_checker(SECOND_CHECKER, SECOND_CHECKER_PIN, code)


def clinic_zone(settings: ServerSettings) -> ZoneInfo:
    """The clinic's timezone, from the server config."""
    return ZoneInfo(settings.clinic_timezone)


class _ServerThread:
    """uvicorn serving the app on loopback from a daemon thread."""

    def __init__(self, settings: ServerSettings, port: int, clock: Clock) -> None:
        config = uvicorn.Config(
            create_app(settings, clock), host="127.0.0.1", port=port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="demo-server", daemon=True)

    def start(self, timeout_s: float = 15) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise FieldAppError("The demo clinic server did not start.")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _lock(folder: Path) -> IO[str]:
    """Hold the folder's lock for as long as the demo runs (refused if another holds it)."""
    handle = (folder / LOCK).open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise DemoError(
            f"A demo is running in {folder}: stop it first, or use another folder."
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def is_running(folder: Path) -> bool:
    """Whether a demo holds the folder's lock now."""
    try:
        _lock(folder).close()
    except DemoError:
        return True
    return False


def _server_settings(folder: Path) -> ServerSettings:
    return load_server_settings(database_url=f"sqlite:///{folder / 'server.db'}")


@dataclass
class DemoStack:
    """A running demo: its folder, day and clock, the server's URL, the unlocked store, and
    the first sync's report."""

    folder: Path
    day: date
    clock: DemoClock
    server_url: str
    store: Store
    report: SyncReport
    _server: _ServerThread
    _lock: IO[str]

    @classmethod
    def start(
        cls,
        folder: Path,
        settings: Settings,
        day: date | None = None,
        clinician: str = DEMO_CLINICIAN,
        source: Callable[[], datetime] = machine_now,
    ) -> DemoStack:
        """Build a new demo in `folder` (new or empty: nothing there is ever removed).

        `day` defaults to the clinic's today; `source` is the machine's clock (tests move it).
        """
        if folder.exists() and any(folder.iterdir()):
            what = (
                "a demo: add --resume to open it again"
                if (folder / MARKER).exists()
                else ("other files")
            )
            raise DemoError(f"{folder} holds {what}, or choose another folder.")
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)  # the clinic's database and the laptop's store: ours alone
        lock = _lock(folder)
        try:
            server_settings = _server_settings(folder)
            zone = clinic_zone(server_settings)
            day = day or source().astimezone(zone).date()
            (folder / MARKER).write_text(
                json.dumps({"day": day.isoformat(), "clinician": clinician}), encoding="utf-8"
            )
            migrate(server_settings.database_url)
            clock = DemoClock.on(day, zone, source)
            code = load_server(server_settings, demo_day(day), clinician, clock.now().timestamp())
            server = _ServerThread(server_settings, _free_port(), clock.now)
            server.start()
            url = f"http://127.0.0.1:{server.server.config.port}"
            store = Store.create(folder / f"{clinician}.store", DEMO_PASSPHRASE, settings.store)
            try:
                enrol_demo_checker(server_settings, store, clock.now().timestamp())
                report = asyncio.run(_enrol_and_sync(url, code, store, settings))
            except BaseException:
                store.close()
                server.stop()
                raise
        except BaseException:
            lock.close()
            raise
        return cls(folder, day, clock, url, store, report, server, lock)

    @classmethod
    def resume(
        cls, folder: Path, settings: Settings, source: Callable[[], datetime] = machine_now
    ) -> DemoStack:
        """Open the demo in `folder` again: its server on a new port, its store, its day."""
        marker = folder / MARKER
        if not marker.exists():
            raise DemoError(f"No demo to resume in {folder}.")
        lock = _lock(folder)
        try:
            saved = json.loads(marker.read_text(encoding="utf-8"))
            day, clinician = date.fromisoformat(saved["day"]), str(saved["clinician"])
            server_settings = _server_settings(folder)
            migrate(server_settings.database_url)
            clock = DemoClock.on(day, clinic_zone(server_settings), source)
            server = _ServerThread(server_settings, _free_port(), clock.now)
            server.start()
            url = f"http://127.0.0.1:{server.server.config.port}"
            store = Store.open(folder / f"{clinician}.store", settings.store)
            try:
                store.unlock(DEMO_PASSPHRASE)
                identity = store.device_identity()
                if identity is not None:  # the server listens on a new port this time
                    store.save_device_identity(replace(identity, server_url=url))
                report = asyncio.run(_sync(store, settings))
            except BaseException:
                store.close()
                server.stop()
                raise
        except BaseException:
            lock.close()
            raise
        return cls(folder, day, clock, url, store, report, server, lock)

    def stop(self) -> None:
        """Close the store, stop the server, and let the folder go."""
        try:
            self.store.close()
            self._server.stop()
        finally:
            self._lock.close()


def latest_demo(root: Path) -> Path | None:
    """The most recently started demo under `root` that is not running now."""
    found = [p for p in root.glob(f"*/{MARKER}") if not is_running(p.parent)]
    return max(found, key=lambda p: p.stat().st_mtime).parent if found else None


async def _sync(store: Store, settings: Settings) -> SyncReport:
    async with make_http_client(settings.sync) as http:
        return await SyncClient(http, store, settings.sync).sync_once()


async def _enrol_and_sync(url: str, code: str, store: Store, settings: Settings) -> SyncReport:
    async with make_http_client(settings.sync) as http:
        keep = DuressBox.beside(store.path).keep_credential
        await enroll(url, code, store, http=http, device_name="demo laptop", keep_duress_token=keep)
        return await SyncClient(http, store, settings.sync).sync_once()
