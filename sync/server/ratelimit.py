"""Token-bucket rate limits kept in the database, so every worker shares one count."""

from __future__ import annotations

import math

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from sync.server.db import is_postgres, transaction
from sync.server.models import RateBucket


def take(engine: Engine, key: str, per_minute: float, burst: int, now: float) -> float | None:
    """Take one token from `key`'s bucket; None if allowed, else seconds until one is free."""
    with transaction(engine) as session:
        return take_in(session, key, per_minute, burst, now)


def take_in(session: Session, key: str, per_minute: float, burst: int, now: float) -> float | None:
    """`take`, inside the caller's transaction."""
    rate = per_minute / 60.0
    insert = pg_insert if is_postgres(session) else sqlite_insert
    session.execute(
        insert(RateBucket)
        .values(key=key, tokens=float(burst), updated=now)
        .on_conflict_do_nothing()
    )
    bucket = session.execute(
        select(RateBucket).where(RateBucket.key == key).with_for_update()  # type: ignore[arg-type]
    ).scalar_one()
    tokens = min(float(burst), bucket.tokens + max(0.0, now - bucket.updated) * rate)
    if tokens >= 1.0:
        bucket.tokens, bucket.updated = tokens - 1.0, now
        return None
    bucket.tokens, bucket.updated = tokens, now
    return max(1.0, math.ceil((1.0 - tokens) / rate))
