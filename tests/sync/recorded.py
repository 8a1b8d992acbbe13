"""A demo day recorded on real laptops and synced to a real server app.

The server gets the synthetic Seattle day (`fieldapp.demo.stack.load_server`); each
clinician's encrypted store is enrolled with a one-time code and pulls its visits over
HTTP (in process, no sockets); the services then work through every visit
(`fieldapp.demo.recorded`) and the laptop pushes what it recorded. The demo's prescriber
and supervisor are enrolled at the clinic and answer through it (`fieldapp.demo.clinic`),
so the signed answers the records carry pass the clinic's checks on push, as does the
second checker's signature (their key filed at the sync). What the server holds afterwards
is exactly what the app sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from fieldapp.demo.clinic import DemoClinic
from fieldapp.demo.recorded import RecordedDay, record_day
from fieldapp.demo.seattle import SEATTLE, demo_day
from fieldapp.demo.stack import load_server
from fieldapp.services.clock import ManualClock
from fieldapp.services.context import AppServices
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from sync.client import SyncClient, enroll
from sync.records import ChecklistSubmission
from sync.server.auth import create_enroll_code
from sync.server.db import transaction

DAY = date(2030, 3, 4)
PASSPHRASE = "synthetic laptop passphrase"
URL = "http://127.0.0.1"
# The discrepancy day's first vial counts this much short at the end of the day.
SHORT_ML = Decimal("0.5")


def laptop_settings(folder: Path, user: str) -> Settings:
    """Settings of one clinician's laptop (a low but legal KDF, quick retries)."""
    return Settings.model_validate(
        {
            "store": {
                "user": user,
                "path": str(folder / f"{user}.store"),
                "kdf_memory_kib": 19456,
                "kdf_iterations": 2,
                "kdf_lanes": 1,
            },
            "sync": {"retry_base_s": 0.01, "retry_max_s": 0.05},
        }
    )


@dataclass
class Laptop:
    """One clinician's enrolled, unlocked store and what their day came to."""

    user: str
    store: Store
    settings: Settings
    app: Any  # the clinic's app: the demo's prescriber and supervisor answer through it
    day: RecordedDay = field(default_factory=RecordedDay)

    async def sync(self, http: httpx.AsyncClient) -> Any:
        """One sync round with the server."""
        return await SyncClient(http, self.store, self.settings.sync).sync_once()


async def enrolled_laptop(
    app: Any, http: httpx.AsyncClient, folder: Path, user: str, code: str | None = None
) -> Laptop:
    """A new store for `user`, enrolled with a fresh code and synced once."""
    ctx = app.state.ctx
    if code is None:
        with transaction(ctx.engine) as session:
            code, _ = create_enroll_code(session, user, ctx.settings, ctx.now())
    settings = laptop_settings(folder, user)
    store = Store.create(Path(settings.store.path), PASSPHRASE, settings.store)
    await enroll(URL, code, store, http=http, device_name=f"{user} laptop")
    laptop = Laptop(user, store, settings, app)
    await laptop.sync(http)
    return laptop


def load_demo(app: Any) -> str:
    """The demo day on the server; returns c01's enrolment code."""
    ctx = app.state.ctx
    return load_server(ctx.settings, demo_day(DAY), "c01", ctx.now())


async def record_and_push(
    laptop: Laptop,
    http: httpx.AsyncClient,
    short_ml: Decimal | None = None,
    significant: bool = False,
) -> Laptop:
    """Work through the laptop's visits of the demo day, then push everything."""
    clock = ManualClock(datetime(DAY.year, DAY.month, DAY.day, 7, 30, tzinfo=SEATTLE))
    services = AppServices(laptop.store, laptop.settings, clock=clock)
    services.unlocked_at = clock.now()
    visits = laptop.store.visits_for_day(DAY)
    identity = laptop.store.device_identity()
    assert identity is not None
    ctx = laptop.app.state.ctx
    clinic = DemoClinic(ctx.engine, ctx.settings, identity, ctx.now())
    laptop.day = record_day(services, clock, visits, short_ml, significant, clinic)
    # A form that grew under the recorded day shows here, not as missing doses downstream.
    unanswered = [
        reason.message
        for checklist in laptop.store.records_of_kind("checklist")
        if isinstance(checklist, ChecklistSubmission)
        for reason in checklist.reasons
        if reason.rule_id == "checklist_incomplete"
    ]
    assert unanswered == [], unanswered
    assert laptop.day.infused and laptop.day.vials, laptop.day
    report = await laptop.sync(http)
    assert report.pending == 0 and report.set_aside == 0, report
    return laptop


async def recorded_demo_day(
    app: Any, http: httpx.AsyncClient, folder: Path, significant: bool = False
) -> list[Laptop]:
    """c01's ordinary day and c02's discrepancy day, recorded and pushed."""
    code = load_demo(app)
    c01 = await enrolled_laptop(app, http, folder, "c01", code)
    c02 = await enrolled_laptop(app, http, folder, "c02")
    await record_and_push(c01, http)
    await record_and_push(c02, http, SHORT_ML, significant)
    return [c01, c02]
