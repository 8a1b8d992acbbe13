"""Refused requests, counted per source and audited once a window: a flood costs the audit O(1).

A bad token (401) or an enrolment over its limit (429) is a refusal. The first refusal
from a source (the kind of refusal and the client's address) in a window is audited at
once, as every refusal used to be. The rest of that window are only counted, in one row
for the source, and audited together as one `refusals_summary` event when the window has
closed: at the source's next refusal, or by the sweep every server worker runs once a
window (`summarise_closed`). A flood answered 429 so writes two audit events a window per
address (it wrote one a request: 1,862 in 10 s, and each waited on the audit chain's lock,
slowing legitimate syncs from 5 to 33 ms).

A source answered 429 is then held by the worker (`Held`) until its wait is over: its
refusals are answered 429 from memory and counted there, and the count joins the source's
window at its next refusal that reaches the database, or at the worker's sweep. Refusing
costs no database write while the flood lasts (on PostgreSQL, each was a commit).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from sync.server import audit, ratelimit
from sync.server.db import is_postgres, transaction
from sync.server.models import RefusalWindow

SUMMARY_ACTION = "refusals_summary"


@dataclass(frozen=True)
class Limit:
    """A rate-limit bucket a refusal takes a token from."""

    bucket: str
    per_minute: float
    burst: int


@dataclass(frozen=True)
class Refusal:
    """One refused request: what its audit event says, and the rate limit it counts on."""

    action: str  # the audit action of a window's first refusal: auth_failed, enroll
    outcome: str  # invalid_token, device_revoked, rate_limited, ...
    client: str
    limit: Limit | None = None  # None: the caller has already applied its own limit
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The key its window is counted under."""
        return f"{self.action}:{self.client}"


@dataclass(frozen=True)
class _Event:
    actor: str
    action: str
    outcome: str
    detail: dict[str, Any]


class Held:
    """One worker's sources answered 429 whose wait is not over, and their refusals since."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}
        self._counts: dict[str, Counter[str]] = {}

    def count_if_held(self, refusal: Refusal, at: float) -> float | None:
        """If the source is held, count this refusal and return the seconds it must wait."""
        with self._lock:
            until = self._until.get(refusal.source)
            if until is None or at >= until:
                return None
            counts = self._counts.setdefault(refusal.source, Counter())
            counts[f"{refusal.outcome}, answered 429"] += 1
            return until - at

    def hold(self, source: str, until: float) -> None:
        """Hold a source answered 429 until its wait is over."""
        with self._lock:
            self._until[source] = until
            if len(self._until) > 10_000:  # forget the sources whose wait is over
                self._until = {k: v for k, v in self._until.items() if v > until - 3600}

    def release(self, source: str) -> Counter[str]:
        """The refusals counted for a source, now handed to its window."""
        with self._lock:
            return self._counts.pop(source, Counter())

    def release_all(self) -> dict[str, Counter[str]]:
        """Every source's counted refusals, handed over."""
        with self._lock:
            counts, self._counts = self._counts, {}
            return counts

    def restore(self, counts: dict[str, Counter[str]]) -> None:
        """Take back counts whose hand-over failed (the database did not answer)."""
        with self._lock:
            for source, more in counts.items():
                self._counts.setdefault(source, Counter()).update(more)


def record(
    engine: Engine,
    refusal: Refusal,
    now: datetime,
    window_s: float,
    held: Counter[str] | None = None,
) -> float | None:
    """Count one refusal (and `held`, those answered from memory before it) against its
    rate limit and its window, auditing what is due; None if the source is within its
    limit, else the seconds it must wait (429)."""
    at = now.timestamp()
    with transaction(engine) as session:
        limit = refusal.limit
        wait = (
            None
            if limit is None
            else ratelimit.take_in(session, limit.bucket, limit.per_minute, limit.burst, at)
        )
        outcome = refusal.outcome if wait is None else f"{refusal.outcome}, answered 429"
        events = _count(session, refusal, outcome, at, window_s, held or Counter())
        _append(session, events, now)
    return wait


def summarise_closed(
    engine: Engine, now: datetime, window_s: float, held: Held | None = None
) -> int:
    """Hand this worker's held counts to their windows, then audit every closed window's
    summary and forget the windows; how many summaries were written.

    Each worker runs this once a window; a window is claimed under a row lock (skipped by
    the others on PostgreSQL), so each summary is written once.
    """
    if held is not None:
        _hand_over(engine, held, now.timestamp())
    with transaction(engine) as session:
        closed = (
            session.execute(
                select(RefusalWindow)
                .where(col(RefusalWindow.opened_at) <= now.timestamp() - window_s)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        events = [_summary(row) for row in closed if row.count]
        for row in closed:
            session.delete(row)
        _append(session, events, now)
    return len(events)


def _hand_over(engine: Engine, held: Held, at: float) -> None:
    counts = held.release_all()
    try:
        with transaction(engine) as session:
            for source, more in counts.items():
                _window(session, source, at, more)
    except BaseException:
        held.restore(counts)
        raise


def _window(session: Session, source: str, at: float, more: Counter[str]) -> RefusalWindow | None:
    """The source's window with `more` refusals added, locked; None if it opened just now."""
    insert = pg_insert if is_postgres(session) else sqlite_insert
    opened = session.execute(
        insert(RefusalWindow)
        .values(
            key=source,
            opened_at=at,
            last_at=at,
            count=sum(more.values()),
            outcomes=json.dumps(dict(more), sort_keys=True),
        )
        .on_conflict_do_nothing()
        .returning(col(RefusalWindow.key))
    ).first()
    if opened is not None:
        return None
    row = session.execute(
        select(RefusalWindow).where(col(RefusalWindow.key) == source).with_for_update()
    ).scalar_one()
    if more:
        outcomes = Counter(json.loads(row.outcomes)) + more
        row.count += sum(more.values())
        row.outcomes = json.dumps(dict(outcomes), sort_keys=True)
    return row


def _count(
    session: Session,
    refusal: Refusal,
    outcome: str,
    at: float,
    window_s: float,
    held: Counter[str],
) -> list[_Event]:
    row = _window(session, refusal.source, at, held)
    if row is None:
        return [_first(refusal, outcome)]
    if at - row.opened_at >= window_s:
        events = [_summary(row)] if row.count else []
        row.opened_at, row.last_at, row.count, row.outcomes = at, at, 0, "{}"
        return [*events, _first(refusal, outcome)]
    outcomes = Counter(json.loads(row.outcomes))
    outcomes[outcome] += 1
    row.count, row.last_at = row.count + 1, at
    row.outcomes = json.dumps(dict(outcomes), sort_keys=True)
    return []


def _first(refusal: Refusal, outcome: str) -> _Event:
    return _Event("-", refusal.action, outcome, {**refusal.detail, "client": refusal.client})


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _summary(row: RefusalWindow) -> _Event:
    action, _, client = row.key.partition(":")
    return _Event(
        "-",
        SUMMARY_ACTION,
        action,
        {
            "client": client,
            "since": _iso(row.opened_at),
            "until": _iso(row.last_at),
            "more": row.count,  # after the one audited at `since`
            "outcomes": json.loads(row.outcomes),
        },
    )


def _append(session: Session, events: list[_Event], now: datetime) -> None:
    for i, event in enumerate(events):
        audit.append(
            session,
            actor=event.actor,
            action=event.action,
            outcome=event.outcome,
            detail=event.detail,
            now=now,
            commit=i == len(events) - 1,  # the audit append is the transaction's last word
        )
