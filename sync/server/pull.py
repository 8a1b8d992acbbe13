"""Handing a clinician their scope in pages after a cursor, never skipping a change.

Scope: the clinician's visits from the clinic's today to `pull_days_ahead` days on (a
cancelled one stays, so the road sees the cancellation and its flags), those patients'
summaries, every protocol document, and the clinician's own profile (their credentials).
A cursor is `v1.<epoch>.<change number>.<day>`:

- the change number is a high-water mark (`changes.high_water`): every change at or
  below it had committed when it was handed out, so no later commit can land below it;
- the day is the window's first day; when the clinic's today moves on, the pull starts
  again from change 0 for the new window and first reports the visits that left it;
- the epoch names this database: a cursor from another one (a restore, a new server), a
  malformed one, or one ahead of the server answers `CursorExpired` (410: start again).

A visit reassigned away, or moved out of the window, is reported as a removal, with its
patient when no other visit in scope needs them. A patient under the clinician's break-glass
grant is in scope while the grant holds (`break_glass.py`), with their visits in the window
(whoever they are assigned to), so what the clinician records about them lands: the grant's
change number brings them, a change to one of those visits while it holds comes as any
other, and the change number of its end reports them and those visits removed (unless in
scope otherwise).
A record purged past its retention (`purge.py`) is reported as a removal to each clinician
it concerned. The last page of a pull carries the signed manifest of the whole scope
(`manifests.py`), which the laptop checks its rows against.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Date,
    String,
    any_,
    bindparam,
    literal_column,
    select,
    text,
    union_all,
)
from sqlmodel import Session

from sync.manifest import SignedManifest
from sync.server import break_glass, crud
from sync.server.changes import high_water
from sync.server.db import fetch_all, fetch_rows
from sync.server.errors import CursorExpired
from sync.server.manifests import scope_manifest, window_days
from sync.server.models import (
    ClinicianProfileRow,
    Patient,
    ProtocolDocRow,
    ServerMeta,
    VisitExit,
    VisitRow,
)
from sync.server.records_models import PurgeExit

_CURSOR_RE = re.compile(r"^v1\.([0-9a-f]{16})\.([0-9]{1,18})\.([0-9]{8})$")


# The epoch and the high-water mark, read together (both change rarely, both every pull).
# The manifest's signing key comes with them: a pull's last page needs it.
_EPOCH_AND_HIGH_WATER_SQL = (
    "SELECT (SELECT value FROM server_meta WHERE key = 'epoch') AS epoch,"
    " (SELECT value FROM change_counter WHERE id = 1) AS high_water,"
    " (SELECT value FROM server_meta WHERE key = 'manifest_key') AS manifest_key"
)
_EPOCH_AND_HIGH_WATER = text(_EPOCH_AND_HIGH_WATER_SQL)
# Noting when the pulling device was last seen: on PostgreSQL in the same statement.
_SEEN_SQL = "UPDATE device SET last_seen_at = :now WHERE id = :device"
_SEEN = text(_SEEN_SQL)
_SEEN_THEN_READ = text(f"WITH seen AS ({_SEEN_SQL}) {_EPOCH_AND_HIGH_WATER_SQL}")


def _epoch_and_high_water(
    session: Session, seen: tuple[str, float] | None, alongside: tuple[Any, dict[str, Any]]
) -> tuple[str, int, str | None, list[Any]]:
    """This database's cursor epoch (made by the first migration), `changes.high_water`, the
    manifest signing key (None before migration 0003), and the rows of `alongside`, a read
    sent with them. `seen`: (device id, time) of the device pulling, whose `last_seen_at`
    this sets."""
    conn = session.connection()
    read: Any = _EPOCH_AND_HIGH_WATER
    params: dict[str, Any] = {}
    if seen is not None:
        params = {"device": seen[0], "now": seen[1]}
        if conn.dialect.name == "postgresql":
            read = _SEEN_THEN_READ
        else:  # SQLite has no data-modifying WITH
            conn.execute(_SEEN, params)
            params = {}
    [row], rows = fetch_all(conn, [(read, params), alongside])
    if row.epoch is None:  # a database made without migrations (tests of crud alone)
        meta = ServerMeta(key="epoch", value=secrets.token_hex(8))
        session.add(meta)
        session.flush()
        return meta.value, high_water(session), None, rows
    return str(row.epoch), int(row.high_water), row.manifest_key, rows


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
    """One pull page. Each upsert is (kind, id, the record's JSON as stored): it goes into
    the answer as it is, never parsed and written again."""

    upserts: list[tuple[str, str, str]] = field(default_factory=list)
    removals: list[tuple[str, str]] = field(default_factory=list)
    cursor: str = ""
    more: bool = False
    manifest: SignedManifest | None = None
    granted: dict[str, str] = field(default_factory=dict)
    """Patients in scope only through a break-glass grant: patient id -> grant id."""
    grant_patients: set[str] = field(default_factory=set)
    """Every patient of a grant in force (their visits in the window are in scope)."""

    def break_glass_reads(self) -> list[tuple[str, str]]:
        """(grant id, patient id) of each patient this page hands over under a grant."""
        return [(self.granted[pid], pid) for pid in self.ids("patient") if pid in self.granted]

    def ids(self, kind: str) -> list[str]:
        """Ids of upserted records of one kind (for the audit event)."""
        return [rid for k, rid, _ in self.upserts if k == kind]


def pull(
    session: Session,
    clinician: str,
    cursor_text: str | None,
    limit: int,
    today: date,
    days: int,
    device_id: str | None = None,
    manifest: bool = False,
    now: float | None = None,
    mark_seen: bool = False,
) -> Page:
    """One page of the clinician's changes after the cursor. The last page carries the
    scope's manifest signed for `device_id` (when given) if anything changed since the
    cursor, or if `manifest` asks for it: a laptop that is up to date already holds it.
    `now` (server time) decides which break-glass grants hold; None leaves them out.
    `mark_seen`: set `device_id`'s `last_seen_at` to `now` (in the pull's own statements)."""
    cursor = Cursor.decode(cursor_text) if cursor_text is not None else None
    grants = break_glass.PullGrants({}, [])
    if now is not None:  # before the high-water mark is read: it may give ends their number
        after = cursor.seq if cursor is not None and cursor.window_from == today else None
        grants = break_glass.for_pull(
            session, clinician, now, break_glass.NO_ENDS if after is None else after
        )
    pulling = (device_id, now) if mark_seen and device_id is not None and now is not None else None
    conn = session.connection()
    window = (today, today + timedelta(days=days))
    epoch, hw, key, in_window = _epoch_and_high_water(
        session,
        pulling,
        (_VISITS_IN_WINDOW[conn.dialect.name], {"who": clinician, **window_days(window)}),
    )
    start, page = 0, Page()
    purged_after: int | None = None  # a new store holds nothing purged: it needs no exits
    scope = {row.patient_id for row in in_window}
    granted = {pid: grant for pid, grant in grants.active.items() if pid not in scope}
    page.granted = {pid: grant.id for pid, grant in granted.items()}
    page.grant_patients = set(grants.active)
    scope |= set(granted)
    # every grant's patient's visits, also where the patient is in scope otherwise
    granted_visits = (
        fetch_rows(
            conn,
            _GRANTED_VISITS[conn.dialect.name],
            {"who": clinician, "ids": sorted(grants.active), **window_days(window)},
        )
        if grants.active
        else []
    )
    if cursor is not None:
        if cursor.epoch != epoch or cursor.seq > hw:
            raise CursorExpired("the cursor belongs to another or an older server database")
        purged_after = cursor.seq  # purges follow the cursor across a new day's restart
        if cursor.window_from == today:
            start = cursor.seq
        elif cursor.window_from < today:
            _left_window(conn, clinician, cursor.window_from, today, scope, page)
    items = _changed(
        conn,
        clinician,
        start,
        hw,
        limit,
        in_window,
        scope,
        purged_after,
        granted,
        grants.ends,
        granted_visits,
        grants.active,
    )
    page.more = len(items) > limit
    items = items[: _page_cut(items, limit)]
    last = items[-1][0] if page.more else hw
    seen: set[tuple[str, str]] = set()
    patients = _visits_patients(conn, items, window)
    for _, kind, row in items:
        _emit(conn, clinician, kind, row, window, scope, page, seen, patients)
        if kind == "grant_end" and row not in scope:  # its visits leave with the patient
            _left_with_grant(conn, clinician, row, window, page)
    page.cursor = Cursor(epoch, last, today).encode()
    up_to_date = 0 < start == hw  # the same window, and no change since the cursor
    if device_id is not None and not page.more and (manifest or not up_to_date):
        granted_rows = {pid: grant.change_seq for pid, grant in granted.items()}
        visit_rows = [
            (row.id, row.version, row.change_seq, grants.active[row.patient_id].change_seq)
            for row in granted_visits
        ]
        page.manifest = scope_manifest(
            conn, device_id, clinician, window, hw, key, granted_rows, visit_rows
        )
    return page


# The statements of a pull, built once (a pull runs them all, many times a minute).
_VISIT = VisitRow.__table__.c  # type: ignore[attr-defined]
_EXIT = VisitExit.__table__.c  # type: ignore[attr-defined]
_PATIENT = Patient.__table__.c  # type: ignore[attr-defined]
_DOC = ProtocolDocRow.__table__.c  # type: ignore[attr-defined]
_PROFILE = ClinicianProfileRow.__table__.c  # type: ignore[attr-defined]
_PURGED = PurgeExit.__table__.c  # type: ignore[attr-defined]
_PATIENT_COLUMNS = (_PATIENT.id, _PATIENT.version, _PATIENT.contact, _PATIENT.clinical)
_VISIT_COLUMNS = (
    _VISIT.id,
    _VISIT.patient_id,
    _VISIT.clinician_id,
    _VISIT.scheduled_on,
    _VISIT.payload,
    _VISIT.change_seq,
)


def _in_window(column: Any) -> Any:
    return column.between(bindparam("first"), bindparam("last"))


def _after(column: Any, statement: Any) -> Any:
    """`statement` limited to changes in (start, hw], in change order, at most `limit`."""
    return (
        statement.where(column > bindparam("start"), column <= bindparam("hw"))
        .order_by(column)
        .limit(bindparam("limit"))
    )


_LEFT_WINDOW = select(_VISIT.id, _VISIT.patient_id).where(
    _VISIT.clinician_id == bindparam("who"),
    _VISIT.scheduled_on >= bindparam("old"),
    _VISIT.scheduled_on < bindparam("today"),
)
# Every statement is keyed by the clinician's scope (their visits by day) or by their
# cursor (their changes in order), each with an index of its own (migration 0009), so a
# pull reads the device's rows, never the clinic's history. PostgreSQL plans a prepared
# statement once for any parameters; where a change-number range could tempt that plan
# into walking every change (a range over the whole history, ANDed with the scope), the
# scope is read alone (a handful of rows) and its change numbers compared here.
_VISITS_CHANGED = _after(
    _VISIT.change_seq, select(*_VISIT_COLUMNS).where(_VISIT.clinician_id == bindparam("who"))
)
# The clinician's visits in the window (a fresh start has nothing to remove: only these).
# On PostgreSQL the window goes as its list of days: a range's selectivity is unknown to
# the plan prepared once for any parameters (it guesses 0.5 % of the clinician's history),
# which then looked so costly that every pull planned the statement again, at a cost that
# grew with the history; a handful of days is estimated as what it is.
_VISITS_IN_WINDOW = {
    "postgresql": select(*_VISIT_COLUMNS).where(
        _VISIT.clinician_id == bindparam("who"),
        _VISIT.scheduled_on == any_(bindparam("days", type_=ARRAY(Date))),
    ),
    "sqlite": select(*_VISIT_COLUMNS).where(
        _VISIT.clinician_id == bindparam("who"), _in_window(_VISIT.scheduled_on)
    ),
}
# A break-glass patient's visits in the window that are another clinician's (the
# clinician's own are in scope already), with their version for the manifest.
_GRANTED_VISITS_BASE = select(*_VISIT_COLUMNS, _VISIT.version).where(
    _VISIT.clinician_id != bindparam("who")
)
_GRANTED_VISITS = {
    "postgresql": _GRANTED_VISITS_BASE.where(
        _VISIT.patient_id == any_(bindparam("ids", type_=ARRAY(String))),
        _VISIT.scheduled_on == any_(bindparam("days", type_=ARRAY(Date))),
    ),
    "sqlite": _GRANTED_VISITS_BASE.where(
        _VISIT.patient_id.in_(bindparam("ids", expanding=True)), _in_window(_VISIT.scheduled_on)
    ),
}
_ENDED_VISITS = select(_VISIT.id).where(
    _VISIT.clinician_id != bindparam("who"),
    _VISIT.patient_id == bindparam("patient"),
    _in_window(_VISIT.scheduled_on),
)
_EXITS_CHANGED = _after(
    _EXIT.seq,
    select(_EXIT.seq, _EXIT.visit_id, _EXIT.patient_id).where(
        _EXIT.clinician_id == bindparam("who")
    ),
)


def _by_ids(*columns: Any) -> dict[str, Any]:
    """`SELECT columns FROM patient WHERE id IN :ids`, by dialect: PostgreSQL takes the ids
    as one array, so the statement's text never changes and is prepared once per
    connection (an IN list makes new text, parsed and planned again, for every length)."""
    return {
        "postgresql": select(*columns).where(
            _PATIENT.id == any_(bindparam("ids", type_=ARRAY(String)))
        ),
        "sqlite": select(*columns).where(_PATIENT.id.in_(bindparam("ids", expanding=True))),
    }


_SCOPE_PATIENTS = _by_ids(*_PATIENT_COLUMNS, _PATIENT.change_seq)
_PURGES_CHANGED = _after(
    _PURGED.seq,
    select(_PURGED.seq, _PURGED.kind, _PURGED.record_id).where(
        _PURGED.clinician_id == bindparam("who")
    ),
)
_DOCS_CHANGED = _after(_DOC.change_seq, select(_DOC.id, _DOC.payload, _DOC.change_seq))
_PROFILE_CHANGED = _after(
    _PROFILE.change_seq,
    select(_PROFILE.id, _PROFILE.payload, _PROFILE.change_seq).where(
        _PROFILE.user_name == bindparam("who")
    ),
)


# Every protocol document's changes and the clinician's profile's: one statement.
def _kind_and(kind: str, changed: Any) -> Any:
    rows = changed.subquery()
    return select(
        literal_column(f"'{kind}'").label("kind"), rows.c.id, rows.c.payload, rows.c.change_seq
    )


_DOCS_AND_PROFILE_CHANGED = union_all(
    _kind_and("protocol_doc", _DOCS_CHANGED), _kind_and("clinician_profile", _PROFILE_CHANGED)
)
_PATIENTS_BY_ID = _by_ids(*_PATIENT_COLUMNS)
_VISIT_BY_ID = select(*_VISIT_COLUMNS).where(_VISIT.id == bindparam("id"))


def _left_window(
    conn: Connection, clinician: str, old: date, today: date, scope: set[str], page: Page
) -> None:
    gone = fetch_rows(conn, _LEFT_WINDOW, {"who": clinician, "old": old, "today": today})
    for visit_id, patient_id in gone:
        page.removals.append(("visit", visit_id))
        if patient_id not in scope and ("patient", patient_id) not in page.removals:
            page.removals.append(("patient", patient_id))


def _page_cut(items: list[tuple[int, str, Any]], limit: int) -> int:
    """How many items the page takes: at most `limit`, never splitting the items of one
    change number (a grant's visits share its number) over two pages; one number's items
    all go together even when they are more than `limit`."""
    if len(items) <= limit:
        return len(items)
    cut = limit
    while cut > 0 and items[cut][0] == items[cut - 1][0]:
        cut -= 1
    if cut == 0:
        cut = 1
        while cut < len(items) and items[cut][0] == items[0][0]:
            cut += 1
    return cut


def _left_with_grant(
    conn: Connection, clinician: str, patient_id: str, window: tuple[date, date], page: Page
) -> None:
    """A break-glass grant ended: the patient's visits it brought leave the laptop too."""
    found = conn.execute(
        _ENDED_VISITS,
        {"who": clinician, "patient": patient_id, "first": window[0], "last": window[1]},
    )
    page.removals.extend(("visit", visit_id) for (visit_id,) in found)


def _changed(
    conn: Connection,
    clinician: str,
    start: int,
    hw: int,
    limit: int,
    in_window: Sequence[Any],
    scope: set[str],
    purged_after: int | None = None,
    granted: dict[str, break_glass.ActiveGrant] | None = None,
    grant_ends: list[tuple[int, str]] | None = None,
    granted_visits: Sequence[Any] = (),
    active: dict[str, break_glass.ActiveGrant] | None = None,
) -> list[tuple[int, str, Any]]:
    """Up to limit+1 changes in (start, hw] of every kind (purges in (purged_after, hw]),
    in change order. `in_window`: the clinician's visits in the window, which are all a
    fresh start (nothing to remove yet) looks at. A break-glass grant made in (start, hw]
    is a change that brings its patient (on a fresh start the patient comes as part of the
    scope anyway). `granted_visits`: the visits in the window of the patients of `active`
    grants, each a change at its own number or at its grant's (which brings them)."""
    bounds = {"start": start, "hw": hw, "limit": limit + 1}
    # Every read below waits on none of the others: they go to the database together.
    reads: dict[str, tuple[Any, dict[str, Any]]] = {}
    if start:
        reads["visit"] = (_VISITS_CHANGED, {**bounds, "who": clinician})
        reads["exit"] = (_EXITS_CHANGED, {**bounds, "who": clinician})
    if scope:
        reads["patient"] = (_SCOPE_PATIENTS[conn.dialect.name], {"ids": sorted(scope)})
    if purged_after is not None:
        reads["purged"] = (_PURGES_CHANGED, {**bounds, "start": purged_after, "who": clinician})
    reads["docs"] = (_DOCS_AND_PROFILE_CHANGED, {**bounds, "who": clinician})
    got = dict(zip(reads, fetch_all(conn, list(reads.values())), strict=True))
    found: list[tuple[int, str, Any]] = [
        (row.change_seq, "visit", row)
        for row in got.get("visit", in_window)
        if start < row.change_seq <= hw
    ]
    for row in granted_visits:
        reached = max(row.change_seq, (active or {})[row.patient_id].change_seq)
        if start < reached <= hw:
            found.append((reached, "visit", row))
    found += [(row.seq, "exit", row) for row in got.get("exit", [])]
    found += [
        (row.change_seq, "patient", row)
        for row in got.get("patient", [])
        if start < row.change_seq <= hw
    ]
    found += [(row.seq, "purged", row) for row in got.get("purged", [])]
    found += [(row.change_seq, row.kind, row) for row in got["docs"]]
    if start > 0:
        found += [
            (grant.change_seq, "grant", grant)
            for grant in (granted or {}).values()
            if start < grant.change_seq <= hw
        ]
        found += [
            (seq, "grant_end", patient_id)
            for seq, patient_id in grant_ends or []
            if start < seq <= hw
        ]
    found.sort(key=lambda entry: entry[0])
    keep = limit + 1
    while 0 < keep < len(found) and found[keep][0] == found[keep - 1][0]:
        keep += 1  # the rest of a grant's visits, which share its change number
    return found[:keep]


def _visits_patients(
    conn: Connection, items: list[tuple[int, str, Any]], window: tuple[date, date]
) -> dict[str, Any]:
    """The patient of every visit upserted on this page, by id (one statement)."""
    rows = {row.id: row for _, kind, row in items if kind == "patient"}
    wanted = {
        row.patient_id
        for _, kind, row in items
        if (kind == "visit" and window[0] <= row.scheduled_on <= window[1]) or kind == "grant"
    } - set(rows)
    if wanted:
        rows.update(
            (row.id, row)
            for row in fetch_rows(conn, _PATIENTS_BY_ID[conn.dialect.name], {"ids": sorted(wanted)})
        )
    return rows


def _emit(
    conn: Connection,
    clinician: str,
    kind: str,
    row: Any,
    window: tuple[date, date],
    scope: set[str],
    page: Page,
    seen: set[tuple[str, str]],
    patients: dict[str, Any],
) -> None:
    if kind in ("protocol_doc", "clinician_profile"):
        page.upserts.append((kind, row.id, row.payload))
    elif kind == "purged":
        page.removals.append((row.kind, row.record_id))
    elif kind == "patient":
        _emit_patient(row, page, seen)
    elif kind == "grant":
        if row.patient_id in patients:
            _emit_patient(patients[row.patient_id], page, seen)
    elif kind == "grant_end":  # `row` is the patient's id
        if row not in scope and ("patient", row) not in seen:
            seen.add(("patient", row))
            page.removals.append(("patient", row))
    elif kind == "visit" and window[0] <= row.scheduled_on <= window[1]:
        page.upserts.append(("visit", row.id, row.payload))
        if row.patient_id in patients:
            _emit_patient(patients[row.patient_id], page, seen)
    else:
        visit_id = row.id if kind == "visit" else row.visit_id
        current = (
            next(iter(fetch_rows(conn, _VISIT_BY_ID, {"id": visit_id})), None)
            if kind == "exit"
            else row
        )
        if (
            current is not None
            and (current.clinician_id == clinician or current.patient_id in page.grant_patients)
            and window[0] <= current.scheduled_on <= window[1]
        ):
            return  # it came back into scope (or is a grant's): its own change upserts it
        page.removals.append(("visit", visit_id))
        if row.patient_id not in scope and ("patient", row.patient_id) not in seen:
            seen.add(("patient", row.patient_id))
            page.removals.append(("patient", row.patient_id))


def _emit_patient(row: Any, page: Page, seen: set[tuple[str, str]]) -> None:
    if ("patient", row.id) in seen:
        return
    seen.add(("patient", row.id))
    summary = crud.patient_summary(row)
    if summary is not None:
        page.upserts.append(("patient", row.id, summary.model_dump_json()))
