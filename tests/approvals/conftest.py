"""Fixtures for remote approvals: a real clinic server (uvicorn on loopback) and real
encrypted stores enrolled over HTTP, one for the clinician's laptop, one for each answerer.

The clinician's store holds the demo day (tests/tui's fixtures); the prescriber's and
supervisor's are fresh stores whose signing keys reach the clinic at their enrolment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from fieldapp.services.context import AppServices
from fieldapp.store.store import Store
from sync.approval_client import ApprovalClient
from sync.client import enroll
from sync.server.auth import create_enroll_code
from sync.server.config import ServerSettings
from sync.server.db import make_engine, transaction
from sync.server.models import AuditEvent
from tests.store.factory import new_store
from tests.sync.conftest import db_url  # noqa: F401 (a fixture)
from tests.sync.factories import add_user
from tests.sync.live import LiveServer
from tests.tui.conftest import (  # noqa: F401 (fixtures)
    CLINICIAN,
    PASSPHRASE,
    clock,
    settings,
    store,
    template_store,
)

PRESCRIBER, SUPERVISOR, OTHER_CLINICIAN = "drp", "sup", "c02"


@dataclass
class Clinic:
    """The live server and everyone enrolled with it."""

    server: LiveServer
    settings: ServerSettings
    http: httpx.AsyncClient
    stores: dict[str, Store]

    def client(self, who: str) -> ApprovalClient:
        """`who`'s approval client, with their store's enrolled identity."""
        identity = self.stores[who].device_identity()
        assert identity is not None
        return ApprovalClient(self.http, identity)

    def audit(self, action: str) -> list[tuple[str, str, str]]:
        """(actor, outcome, detail) of every audit event of `action`, oldest first."""
        engine = make_engine(self.settings)
        try:
            with transaction(engine) as session:
                query = (
                    select(AuditEvent)
                    .where(col(AuditEvent.action) == action)
                    .order_by(col(AuditEvent.seq))
                )
                return [(r.actor, r.outcome, r.detail) for r in session.exec(query)]
        finally:
            engine.dispose()


def _code(server: ServerSettings, who: str) -> str:
    engine = make_engine(server)
    try:
        with transaction(engine) as session:
            code, _ = create_enroll_code(session, who, server, datetime.now(UTC).timestamp())
        return code
    finally:
        engine.dispose()


def _users(server: ServerSettings) -> None:
    engine = make_engine(server)
    try:
        for name, role in (
            (CLINICIAN, "clinician"),
            (OTHER_CLINICIAN, "clinician"),
            (PRESCRIBER, "prescriber"),
            (SUPERVISOR, "supervisor"),
        ):
            add_user(engine, name, role)
    finally:
        engine.dispose()


async def open_clinic(
    db: str, laptop: Store, tmp_path: Path, env: dict[str, str] | None = None
) -> tuple[LiveServer, ServerSettings]:
    """Start the server; add the people (nothing enrolled yet)."""
    server = ServerSettings(database_url=db, clinic_timezone="UTC")
    _users(server)
    return LiveServer(db, env=env).start(), server


async def enrol_all(clinic: Clinic, laptop: Store, tmp_path: Path) -> None:
    """Enrol the clinician's laptop and a fresh store each for the others, over HTTP."""
    clinic.stores[CLINICIAN] = laptop
    for who in (PRESCRIBER, SUPERVISOR, OTHER_CLINICIAN):
        clinic.stores[who] = new_store(tmp_path / f"{who}.store")
    for who, held in clinic.stores.items():
        await enroll(clinic.server.url, _code(clinic.settings, who), held, http=clinic.http)


@asynccontextmanager
async def live_clinic(
    db: str, laptop: Store, tmp_path: Path, env: dict[str, str] | None = None
) -> AsyncIterator[Clinic]:
    """A live clinic (its settings moved by `env`) with everyone enrolled; stopped after."""
    server, server_settings = await open_clinic(db, laptop, tmp_path, env=env)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            built = Clinic(server, server_settings, http, {})
            await enrol_all(built, laptop, tmp_path)
            yield built
    finally:
        server.stop()


@pytest.fixture
async def clinic(
    db_url: str,  # noqa: F811
    services: AppServices,
    store: Store,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Clinic]:
    """A live clinic with everyone enrolled (requests expire after the default minutes)."""
    async with live_clinic(db_url, store, tmp_path) as built:
        yield built


@pytest.fixture
def services(store: Store, settings: Any, clock: Any) -> Iterator[AppServices]:  # noqa: F811
    """The clinician's app services over the laptop store, unlocked."""
    built = AppServices(store, settings, clock=clock)
    built.unlock(PASSPHRASE)
    yield built
