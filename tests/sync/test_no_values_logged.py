"""SECURITY.md 27: no log line at any level holds SQL parameters or a row's values, even when
a statement fails in the middle of a request (SQLite and PostgreSQL).

Every logger is opened to DEBUG (SQLAlchemy then logs each statement), a route's work is
replaced by a statement that fails on a row holding a marker, and everything logged, the
exception text included, is searched for the marker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from sync.server import crud
from sync.server.db import make_engine
from tests.sync.conftest import auth, test_settings
from tests.sync.factories import World

MARKER = "Zebediah Quackenbush 555-0199"
# Fails on every database: role may not be NULL. PostgreSQL's message then quotes the row.
FAILING = "INSERT INTO app_user (name, role, display_name, active, created_at) VALUES "


class Everything(logging.Handler):
    """Keeps every record, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def every_log() -> Iterator[Everything]:
    """Every logger of the process at DEBUG, into one handler."""
    handler = Everything()
    root = logging.getLogger()
    saved = (
        root.level,
        {
            name: (log.level, log.propagate, log.disabled)
            for name, log in logging.root.manager.loggerDict.items()
            if isinstance(log, logging.Logger)
        },
    )
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in saved[1]:
        log = logging.getLogger(name)
        log.setLevel(logging.DEBUG)
        log.propagate, log.disabled = True, False
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, (level, propagate, disabled) in saved[1].items():
            log = logging.getLogger(name)
            log.setLevel(level)
            log.propagate, log.disabled = propagate, disabled


def _fail_through_sqlalchemy(session: Any, *_args: Any) -> None:
    session.execute(
        text(FAILING + "(:name, NULL, :shown, true, 0)"), {"name": "x1", "shown": MARKER}
    )


def _fail_on_the_driver(session: Any, *_args: Any) -> None:
    # As `push` does for speed: the driver's own cursor, no SQLAlchemy around the error.
    raw = session.connection().connection.driver_connection
    mark = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
    raw.execute(FAILING + f"({mark}, NULL, {mark}, true, 0)", ("x2", MARKER))


@pytest.mark.parametrize("failure", [_fail_through_sqlalchemy, _fail_on_the_driver])
async def test_a_failing_statement_logs_no_value(
    app: Any,
    world: World,
    api: httpx.AsyncClient,
    every_log: Everything,
    monkeypatch: pytest.MonkeyPatch,
    failure: Any,
) -> None:
    monkeypatch.setattr(crud, "put_patient_contact", failure)
    v = world.visits["a"]
    contact = {
        "display_name": "Test Person",
        "phone": "555-0101",
        "address": v.address.model_dump(mode="json"),
    }
    response = await api.put(
        f"/dispatch/patients/{v.patient_id}", json=contact, headers=auth(world, "disp")
    )
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert MARKER not in response.text
    logged = "\n".join(every_log.lines)
    assert "unexpected failure in PUT /dispatch/patients/{patient_id}" in logged
    assert "app_user" in logged or "INSERT" in logged or "Error" in logged
    assert MARKER not in logged


def test_an_error_raised_to_the_caller_holds_no_value(db_url: str, every_log: Everything) -> None:
    # The CLI and the server's own code see the exception itself: its text is values-free.
    engine = make_engine(test_settings(db_url))
    try:
        with pytest.raises(IntegrityError) as failed, engine.begin() as conn:
            conn.execute(
                text(FAILING + "(:name, NULL, :shown, true, 0)"), {"name": "x3", "shown": MARKER}
            )
    finally:
        engine.dispose()
    assert MARKER not in str(failed.value) and MARKER not in repr(failed.value.orig)
    assert "hidden" in str(failed.value)  # SQLAlchemy's "[SQL parameters hidden ...]"
    assert any("INSERT INTO app_user" in line for line in every_log.lines)  # DEBUG was on
    assert MARKER not in "\n".join(every_log.lines)


async def test_rows_read_are_not_logged_at_debug(
    world: World, api: httpx.AsyncClient, every_log: Everything
) -> None:
    patient = world.patients["a"]
    response = await api.get(f"/dispatch/patients/{patient.id}", headers=auth(world, "disp"))
    assert response.status_code == 200 and patient.display_name in response.text
    assert any("SELECT" in line for line in every_log.lines)  # DEBUG was on
    assert patient.display_name not in "\n".join(every_log.lines)
