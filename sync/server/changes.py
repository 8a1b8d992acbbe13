"""Change numbers for server-owned records, handed out so that they commit in order.

The pull cursor is "every change up to number N". That is only safe if no change numbered
below N can still commit after a reader saw N: the classic bug where sequence values
commit out of order under several workers. Here every change number comes from one
counter row updated inside the writing transaction; the row lock is held until commit, so
the next writer waits and its numbers are always larger *and* committed later. A reader
takes the counter's committed value as its high-water mark: everything at or below it is
already visible. SQLite serialises writers anyway.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session, col

from sync.server.models import ChangeCounter


def take_change_numbers(session: Session, count: int = 1) -> int:
    """Reserve `count` consecutive change numbers; returns the first. Locks until commit."""
    statement = (
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)  # type: ignore[arg-type]
        .values(value=ChangeCounter.value + count)
        .returning(col(ChangeCounter.value))
    )
    last = session.execute(statement).scalar_one()
    return int(last) - count + 1


def high_water(session: Session) -> int:
    """The newest change number whose transaction has committed."""
    value = session.execute(
        select(col(ChangeCounter.value)).where(ChangeCounter.id == 1)  # type: ignore[arg-type]
    ).scalar_one()
    return int(value)
