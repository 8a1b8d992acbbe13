"""Controlled-substance inventories (21 CFR 1304.11): taking one, and when the next is due.

An inventory lists every vial on hand at the opening or the close of business of a day:
its strength, fill and lot, what the ledger's book says is left, and the last physical
count (an opened Schedule III container may be an estimated count, 1304.11(e)(3)). Taking
one stores it (`DeaInventory`), so the biennial calendar runs from the newest initial or
biennial inventory, with reminders `remind_days_before` it falls due.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from sync.dates import add_years
from sync.server.records_config import DeaSettings
from sync.server.records_models import DeaInventory
from sync.server.reports.ledger import load_ledger, reconcile
from sync.server.reports.table import num

InventoryKind = Literal["initial", "biennial", "ad_hoc"]


@dataclass(frozen=True)
class InventoryDue:
    """When the next biennial inventory falls due, and which reminder is on now."""

    last_kind: str
    last_on: date
    due_on: date
    days_left: int
    reminder_days: int | None

    def sentence(self) -> str:
        """The calendar in one line, for the report header and the command."""
        if self.days_left < 0:
            state = f"OVERDUE by {-self.days_left} days"
        elif self.reminder_days is not None:
            state = f"due in {self.days_left} days (reminder: {self.reminder_days} days before)"
        else:
            state = f"due in {self.days_left} days"
        return f"{state}, on {self.due_on.isoformat()}; last ({self.last_kind}) {self.last_on}"


def inventory_due(
    session: Session, settings: DeaSettings, registration: str, today: date
) -> InventoryDue:
    """The biennial calendar of a registration as of `today`."""
    last = session.exec(
        select(DeaInventory)
        .where(
            DeaInventory.registration == registration,
            col(DeaInventory.kind).in_(("initial", "biennial")),
            col(DeaInventory.as_of) <= today,
        )
        .order_by(col(DeaInventory.as_of).desc())
    ).first()
    kind, on = (last.kind, last.as_of) if last else ("initial", settings.inventory.initial_on)
    due = add_years(on, settings.inventory.biennial_years)
    days_left = (due - today).days
    due_reminders = [d for d in settings.inventory.remind_days_before if days_left <= d]
    return InventoryDue(kind, on, due, days_left, min(due_reminders) if due_reminders else None)


@dataclass(frozen=True)
class OnHand:
    """One vial on hand at the inventory's moment."""

    vial: str
    clinician: str
    mg_per_ml: str
    fill_ml: str
    lot: str
    book_ml: str
    counted_ml: str
    opened: bool
    receipt_id: str
    count_id: str


def take_inventory(
    session: Session,
    settings: DeaSettings,
    registration_number: str | None,
    as_of: date,
    moment: Literal["opening", "close"],
    kind: InventoryKind,
    taken_by: str,
    zone: ZoneInfo,
    now: datetime,
) -> tuple[DeaInventory, list[OnHand]]:
    """Count what the ledger holds at the opening or close of `as_of`, and store it."""
    registration = settings.registration(registration_number)
    ledger = load_ledger(session, zone, registration.clinicians)
    at = datetime.combine(as_of, time.min if moment == "opening" else time.max, zone)
    on_hand = []
    for vial in sorted({e.record.vial_id for e in ledger.entries}):
        balance = reconcile(ledger.vial_entries(vial), ledger.tolerance, at)
        if balance is None or balance.remaining_mg <= 0:
            continue
        on_hand.append(
            OnHand(
                vial=vial,
                clinician=balance.clinician,
                mg_per_ml=num(balance.mg_per_ml),
                fill_ml=num(balance.fill_ml),
                lot=balance.lot or "",
                book_ml=num(balance.remaining_ml),
                counted_ml=num(balance.counted_ml),
                opened=balance.remaining_ml < balance.fill_ml,
                receipt_id=balance.receipt_id or "",
                count_id=balance.count_id or "",
            )
        )
    row = DeaInventory(
        id=str(uuid.uuid4()),
        kind=kind,
        registration=registration.number,
        as_of=as_of,
        taken_by=taken_by,
        taken_at=now.timestamp(),
        payload=json.dumps({"moment": moment, "vials": [vars(v) for v in on_hand]}, sort_keys=True),
    )
    session.add(row)
    session.flush()
    return row, on_hand
