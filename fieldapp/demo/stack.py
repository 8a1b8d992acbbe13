"""The whole demo on one machine: a clinic server on SQLite, the day loaded, a laptop enrolled.

`DemoStack.start()` builds it in a fresh folder: migrate the server database, load the
synthetic day and the clinic's protocol documents, add the demo clinician, serve the API
with uvicorn on loopback in a background thread, create the clinician's encrypted store,
enrol it with a one-time code over real HTTP, and sync once. `stop()` shuts the server.

The server hands out "today" in the clinic's timezone, so a demo of another day (or a
machine whose own zone is already on tomorrow) runs the server on a clock moved by whole
days to put the clinic's today on the demo day.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn

from fieldapp.config import config_dir
from fieldapp.demo.seattle import DemoDay, demo_day, stable_id
from fieldapp.errors import FieldAppError
from fieldapp.settings import Settings
from fieldapp.store import Store
from fieldapp.store.duress_box import DuressBox
from sync.client import SyncClient, SyncReport, enroll, make_http_client
from sync.records import ProtocolDocument
from sync.server import audit, crud
from sync.server.auth import create_enroll_code
from sync.server.config import ServerSettings, load_server_settings
from sync.server.db import make_engine, transaction
from sync.server.deps import Clock, utc_now
from sync.server.main import create_app
from sync.server.migrate import migrate

DEMO_PASSPHRASE = "demo passphrase, synthetic data only"  # noqa: S105 (printed by the demo)
DEMO_CLINICIAN = "c01"


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
            for patient in day.patients:
                crud.put_patient_summary(session, patient, now)
            for visit in day.visits:
                crud.put_visit(session, visit, now)
            for doc in protocol_documents():
                crud.put_protocol_doc(session, doc, now)
            code, _expires = create_enroll_code(session, clinician, settings, now)
            audit.append(session, actor="demo", action="import_day", outcome="ok", detail={})
            return str(code)
    finally:
        engine.dispose()


def days_to(day: date, zone: ZoneInfo | None = None) -> timedelta:
    """The whole days from today in `zone` (None: this machine's own) to `day`."""
    return timedelta(days=(day - datetime.now(zone).date()).days)


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


@dataclass
class DemoStack:
    """A running demo: the server's URL, the unlocked store, and the first sync's report."""

    folder: Path
    server_url: str
    store: Store
    report: SyncReport
    _server: _ServerThread

    @classmethod
    def start(
        cls, folder: Path, settings: Settings, day: date, clinician: str = DEMO_CLINICIAN
    ) -> DemoStack:
        """Build the whole demo afresh in `folder` (anything there before is removed)."""
        if folder.exists():
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700)  # the clinic's database and the laptop's store: ours alone
        server_settings = load_server_settings(database_url=f"sqlite:///{folder / 'server.db'}")
        migrate(server_settings.database_url)
        shift = days_to(day, ZoneInfo(server_settings.clinic_timezone))

        def clock() -> datetime:
            return utc_now() + shift

        code = load_server(server_settings, demo_day(day), clinician, clock().timestamp())
        server = _ServerThread(server_settings, _free_port(), clock)
        server.start()
        url = f"http://127.0.0.1:{server.server.config.port}"
        store = Store.create(folder / f"{clinician}.store", DEMO_PASSPHRASE, settings.store)
        try:
            report = asyncio.run(_enrol_and_sync(url, code, store, settings))
        except BaseException:
            store.close()
            server.stop()
            raise
        return cls(folder, url, store, report, server)

    def stop(self) -> None:
        """Close the store and stop the server."""
        self.store.close()
        self._server.stop()


async def _enrol_and_sync(url: str, code: str, store: Store, settings: Settings) -> SyncReport:
    async with make_http_client(settings.sync) as http:
        keep = DuressBox.beside(store.path).keep_credential
        await enroll(url, code, store, http=http, device_name="demo laptop", keep_duress_token=keep)
        return await SyncClient(http, store, settings.sync).sync_once()
