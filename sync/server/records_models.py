"""Tables for records leaving the clinic: legal holds, purge exits and DEA inventories.

Kept apart from `models.py` (the sync tables) so the sync path never loads them; the
migration `0008_records_out` creates them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class LegalHold(SQLModel, table=True):
    """A legal hold: nothing of this patient, or of these days, may be purged until released.

    A hold names a patient, a range of days, or both (that patient's records on those days).
    """

    __tablename__ = "legal_hold"

    id: str = Field(primary_key=True, max_length=36)
    patient_id: str | None = Field(default=None, index=True, max_length=36)
    from_day: date | None = None
    to_day: date | None = None
    reason: str = Field(max_length=500)
    placed_by: str = Field(max_length=64)
    placed_at: float
    released_by: str | None = Field(default=None, max_length=64)
    released_at: float | None = None


class PurgeExit(SQLModel, table=True):
    """A record purged from the server: the next pull of its clinician reports it removed.

    `seq` is a change number (`changes.take_change_numbers`), so the pull cursor sees each
    exit exactly once, in commit order, like a visit leaving a clinician.
    """

    __tablename__ = "purge_exit"
    __table_args__ = (Index("ix_purge_exit_clinician_seq", "clinician_id", "seq"),)

    seq: int = Field(primary_key=True)
    kind: str = Field(max_length=40)
    record_id: str = Field(max_length=36)
    clinician_id: str = Field(max_length=200)
    purge_id: str = Field(max_length=36)


class DeaInventory(SQLModel, table=True):
    """A controlled-substance inventory taken (initial, biennial or ad hoc, 1304.11).

    `payload` is the inventory as counted: each vial's strength, fill and what the ledger
    held on `as_of`, with the ledger record ids behind each figure.
    """

    __tablename__ = "dea_inventory"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=20)
    registration: str = Field(max_length=20)
    as_of: date = Field(index=True)
    taken_by: str = Field(max_length=64)
    taken_at: float
    payload: str = Field(sa_column=Column(Text, nullable=False))
