"""Handing a clinician their scope in pages after a cursor, never skipping a change.

Scope: the clinician's visits from the clinic's today to `pull_days_ahead` days on (a
cancelled one stays, so the road sees the cancellation and its flags), those patients'
summaries, and every protocol document. A cursor is `v1.<epoch>.<change number>.<day>`:

- the change number is a high-water mark (`changes.high_water`): every change at or
  below it had committed when it was handed out, so no later commit can land below it;
- the day is the window's first day; when the clinic's today moves on, the pull starts
  again from change 0 for the new window and first reports the visits that left it;
- the epoch names this database: a cursor from another one (a restore, a new server), a
  malformed one, or one ahead of the server answers `CursorExpired` (410: start again).

A visit reassigned away, or moved out of the window, is reported as a removal, with its
patient when no other visit in scope needs them.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session, col

from sync.server import crud
from sync.server.changes import high_water
from sync.server.errors import CursorExpired
from sync.server.models import Patient, ProtocolDocRow, ServerMeta, VisitExit, VisitRow

_CURSOR_RE = re.compile(r"^v1\.([0-9a-f]{16})\.([0-9]{1,18})\.([0-9]{8})$")


_EPOCH = text("SELECT value FROM server_meta WHERE key = 'epoch'")


def database_epoch(session: Session) -> str:
    """This database's cursor epoch (made by the first migration)."""
    epoch = session.execute(_EPOCH).scalar()
    if epoch is None:  # a database made without migrations (tests of crud alone)
        row = ServerMeta(key="epoch", value=secrets.token_hex(8))
        session.add(row)
        session.flush()
        return row.value
    return str(epoch)


@dataclass(frozen=True)
class Cursor:
    """A decoded cursor."""

    epoch: str
    seq: int
    window_from: date

    def encode(self) -> str:
        """The cursor as the device stores it."""
        return f"v1.{self.epoch}.{self.seq}.{self.window_from:%Y%m%d}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse, or raise `CursorExpired`."""
        match = _CURSOR_RE.match(text)
        if match is None:
            raise CursorExpired("the cursor is not one this server hands out")
        try:
            day = datetime.strptime(match[3], "%Y%m%d").date()
        except ValueError:
            raise CursorExpired("the cursor is not one this server hands out") from None
        return cls(match[1], int(match[2]), day)


@dataclass
class Page:
    """One pull page."""

    upserts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    removals: list[tuple[str, str]] = field(default_factory=list)
    cursor: str = ""
    more: bool = False

    def ids(self, kind: str) -> list[str]:
        """Ids of upserted records of one kind (for the audit event)."""
        return [str(record["id"]) for k, record in self.upserts if k == kind]


def pull(
    session: Session, clinician: str, cursor_text: str | None, limit: int, today: date, days: int
) -> Page:
    """One page of the clinician's changes after the cursor."""
    epoch, hw = database_epoch(session), high_water(session)
    window = (today, today + timedelta(days=days))
    start, page = 0, Page()
    scope = _scope_patients(session, clinician, window)
    if cursor_text is not None:
        cursor = Cursor.decode(cursor_text)
        if cursor.epoch != epoch or cursor.seq > hw:
            raise CursorExpired("the cursor belongs to another or an older server database")
        if cursor.window_from == today:
            start = cursor.seq
        elif cursor.window_from < today:
            _left_window(session, clinician, cursor.window_from, today, scope, page)
    items = _changed(session, clinician, start, hw, limit, window, scope)
    page.more = len(items) > limit
    items = items[:limit]
    last = items[-1][0] if page.more else hw
    seen: set[tuple[str, str]] = set()
    for _, kind, row in items:
        _emit(session, clinician, kind, row, window, scope, page, seen)
    page.cursor = Cursor(epoch, last, today).encode()
    return page


def _scope_patients(session: Session, clinician: str, window: tuple[date, date]) -> set[str]:
    return set(
        session.execute(
            select(col(VisitRow.patient_id)).where(
                col(VisitRow.clinician_id) == clinician,
                col(VisitRow.scheduled_on).between(*window),
            )
        ).scalars()
    )


def _left_window(
    session: Session, clinician: str, old: date, today: date, scope: set[str], page: Page
) -> None:
    gone = session.execute(
        select(col(VisitRow.id), col(VisitRow.patient_id)).where(
            col(VisitRow.clinician_id) == clinician,
            col(VisitRow.scheduled_on) >= old,
            col(VisitRow.scheduled_on) < today,
        )
    ).all()
    for visit_id, patient_id in gone:
        page.removals.append(("visit", visit_id))
        if patient_id not in scope and ("patient", patient_id) not in page.removals:
            page.removals.append(("patient", patient_id))


def _changed(
    session: Session,
    clinician: str,
    start: int,
    hw: int,
    limit: int,
    window: tuple[date, date],
    scope: set[str],
) -> list[tuple[int, str, Any]]:
    """Up to limit+1 changes in (start, hw] of every kind, in change order."""
    visits = select(VisitRow).where(
        col(VisitRow.clinician_id) == clinician,
        col(VisitRow.change_seq) > start,
        col(VisitRow.change_seq) <= hw,
    )
    if start == 0:  # a fresh start has nothing to remove: only what is in the window
        visits = visits.where(col(VisitRow.scheduled_on).between(*window))
    found: list[tuple[int, str, Any]] = [
        (row.change_seq, "visit", row)
        for row in session.execute(
            visits.order_by(col(VisitRow.change_seq)).limit(limit + 1)
        ).scalars()
    ]
    if start > 0:
        exits = select(VisitExit).where(
            col(VisitExit.clinician_id) == clinician,
            col(VisitExit.seq) > start,
            col(VisitExit.seq) <= hw,
        )
        found += [
            (row.seq, "exit", row)
            for row in session.execute(
                exits.order_by(col(VisitExit.seq)).limit(limit + 1)
            ).scalars()
        ]
    if scope:
        patients = select(Patient).where(
            col(Patient.id).in_(sorted(scope)),
            col(Patient.change_seq) > start,
            col(Patient.change_seq) <= hw,
        )
        found += [
            (row.change_seq, "patient", row)
            for row in session.execute(
                patients.order_by(col(Patient.change_seq)).limit(limit + 1)
            ).scalars()
        ]
    docs = select(ProtocolDocRow).where(
        col(ProtocolDocRow.change_seq) > start, col(ProtocolDocRow.change_seq) <= hw
    )
    found += [
        (row.change_seq, "protocol_doc", row)
        for row in session.execute(
            docs.order_by(col(ProtocolDocRow.change_seq)).limit(limit + 1)
        ).scalars()
    ]
    found.sort(key=lambda entry: entry[0])
    return found[: limit + 1]


def _emit(
    session: Session,
    clinician: str,
    kind: str,
    row: Any,
    window: tuple[date, date],
    scope: set[str],
    page: Page,
    seen: set[tuple[str, str]],
) -> None:
    if kind == "protocol_doc":
        page.upserts.append(("protocol_doc", json.loads(row.payload)))
    elif kind == "patient":
        _emit_patient(row, page, seen)
    elif kind == "visit" and window[0] <= row.scheduled_on <= window[1]:
        page.upserts.append(("visit", json.loads(row.payload)))
        patient = session.get(Patient, row.patient_id)
        if patient is not None:
            _emit_patient(patient, page, seen)
    else:
        visit_id = row.id if kind == "visit" else row.visit_id
        current = session.get(VisitRow, visit_id) if kind == "exit" else row
        if (
            current is not None
            and current.clinician_id == clinician
            and window[0] <= current.scheduled_on <= window[1]
        ):
            return  # it came back into scope: its own change upserts it
        page.removals.append(("visit", visit_id))
        if row.patient_id not in scope and ("patient", row.patient_id) not in seen:
            seen.add(("patient", row.patient_id))
            page.removals.append(("patient", row.patient_id))


def _emit_patient(row: Patient, page: Page, seen: set[tuple[str, str]]) -> None:
    if ("patient", row.id) in seen:
        return
    seen.add(("patient", row.id))
    summary = crud.patient_summary(row)
    if summary is not None:
        page.upserts.append(("patient", summary.model_dump(mode="json")))
