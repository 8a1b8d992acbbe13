"""The controlled-substance ledger as the clinic server holds it: entries read from the
pushed records, and each vial reconciled from its whole history.

The balance is the ledger engine's (CLINICAL.md §3), computed here again from the stored
records because the server never imports the device app:

    start + overage = administered + wasted + breakage + loss + remaining (book)

and a physical count against what should be in the vial, the difference beyond the
protocol's tolerance being a discrepancy. Every figure keeps the ids of the ledger records
it was summed from, so an auditor can trace any number to the entries behind it.
"""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from sync.records import DayClosure, Incident, SubstanceEvent, parse_record
from sync.server.models import AppUser, DeviceRecordRow, Patient, ProtocolDocRow

LEDGER_KINDS = ("substance", "incident", "day_close")
# Entries that take drug out of the vial's book balance (a draw only moves it to a syringe).
USES = ("administration", "waste", "breakage", "loss")
ZERO = Decimal(0)


def dec(value: float | None) -> Decimal:
    """A float from a record as an exact decimal (its shortest repr, as typed)."""
    return Decimal(str(value)) if value is not None else ZERO


@dataclass(frozen=True)
class Entry:
    """One ledger record, with who recorded it and its local day."""

    record: SubstanceEvent
    clinician: str
    day: date

    @property
    def id(self) -> str:
        """The ledger record's id."""
        return str(self.record.id)

    @property
    def mg(self) -> Decimal:
        """Milligrams of the entry."""
        return dec(self.record.mg)

    @property
    def ml(self) -> Decimal:
        """Millilitres of the entry."""
        return dec(self.record.ml)


@dataclass
class Ledger:
    """Every ledger entry, ledger incident and day close, read once."""

    entries: list[Entry] = field(default_factory=list)
    incidents: list[tuple[Incident, str]] = field(default_factory=list)
    closes: list[tuple[DayClosure, str]] = field(default_factory=list)
    people: dict[str, str] = field(default_factory=dict)
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    tolerance: tuple[Decimal, Decimal, str] = (ZERO, ZERO, "larger")
    _by_vial: dict[str, list[Entry]] | None = None

    def vial_entries(self, vial: str) -> list[Entry]:
        """One vial's entries in time order."""
        if self._by_vial is None:  # indexed once: a year's report asks for every vial
            self._by_vial = defaultdict(list)
            for entry in self.entries:
                self._by_vial[entry.record.vial_id].append(entry)
        return self._by_vial.get(vial, [])

    def person(self, user: str) -> str:
        """A clinician's name as enrolled, with their user id."""
        name = self.people.get(user)
        return f"{name} ({user})" if name else user


def load_ledger(session: Session, zone: ZoneInfo, clinicians: Iterable[str] | None) -> Ledger:
    """Read the ledger records of these clinicians (None: everyone), oldest first."""
    query = select(
        col(DeviceRecordRow.kind), col(DeviceRecordRow.user_name), col(DeviceRecordRow.payload)
    ).where(col(DeviceRecordRow.kind).in_(LEDGER_KINDS))
    if clinicians is not None:
        query = query.where(col(DeviceRecordRow.user_name).in_(sorted(clinicians)))
    ledger = Ledger()
    for kind, user, payload in session.execute(query):
        record = parse_record(kind, payload)
        if isinstance(record, SubstanceEvent):
            ledger.entries.append(Entry(record, user, record.at.astimezone(zone).date()))
        elif isinstance(record, Incident) and record.category == "ledger_discrepancy":
            ledger.incidents.append((record, user))
        elif isinstance(record, DayClosure):
            ledger.closes.append((record, user))
    ledger.entries.sort(key=lambda e: (e.record.at, e.record.recorded_at, e.id))
    ledger._by_vial = None
    ledger.incidents.sort(key=lambda pair: pair[0].occurred_at)
    ledger.people = {
        name: display or ""
        for name, display in session.execute(select(col(AppUser.name), col(AppUser.display_name)))
    }
    wanted = sorted({str(e.record.patient_id) for e in ledger.entries if e.record.patient_id})
    if wanted:
        rows = session.execute(
            select(col(Patient.id), col(Patient.contact)).where(col(Patient.id).in_(wanted))
        )
        ledger.patients = {pid: json.loads(contact) for pid, contact in rows}
    ledger.tolerance = protocol_tolerance(session)
    return ledger


def protocol_tolerance(session: Session) -> tuple[Decimal, Decimal, str]:
    """The count tolerance of the clinic's protocol as laptops received it (mL, % of the
    vial, which of the two), from the stored protocol document; none when there is none."""
    payload = session.execute(
        select(col(ProtocolDocRow.payload)).where(col(ProtocolDocRow.name) == "protocol")
    ).scalar()
    if payload is None:
        return ZERO, ZERO, "larger"
    try:
        ledger = tomllib.loads(json.loads(payload)["content_toml"]).get("ledger", {})
        return (
            Decimal(str(ledger.get("tolerance_ml", 0))),
            Decimal(str(ledger.get("tolerance_pct_of_vial", 0))),
            str(ledger.get("tolerance_rule", "larger")),
        )
    except (ValueError, KeyError, tomllib.TOMLDecodeError):
        return ZERO, ZERO, "larger"


@dataclass
class Figure:
    """An amount and the ledger records it was summed from."""

    mg: Decimal = ZERO
    ml: Decimal = ZERO
    ids: list[str] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        """Count one entry in."""
        self.mg += entry.mg
        self.ml += entry.ml
        self.ids.append(entry.id)


@dataclass
class VialBalance:
    """One vial reconciled up to a moment: the book balance and the last count."""

    vial: str
    clinician: str
    mg_per_ml: Decimal
    fill_ml: Decimal
    lot: str | None
    receipt_id: str | None
    figures: dict[str, Figure]
    counted_ml: Decimal | None = None
    expected_at_count_ml: Decimal | None = None
    count_id: str | None = None
    tolerance_ml: Decimal = ZERO
    returned: bool = False

    @property
    def start_mg(self) -> Decimal:
        """What the vial held when received."""
        return self.mg_per_ml * self.fill_ml

    @property
    def remaining_mg(self) -> Decimal:
        """The book balance: what the entries leave."""
        taken = sum((self.figures[k].mg for k in USES), ZERO)
        return self.start_mg + self.figures["overage"].mg - taken

    @property
    def remaining_ml(self) -> Decimal:
        """The book balance in mL."""
        return self.remaining_mg / self.mg_per_ml if self.mg_per_ml else ZERO

    @property
    def count_difference_ml(self) -> Decimal | None:
        """Measured minus expected at the last count (negative: short)."""
        if self.counted_ml is None or self.expected_at_count_ml is None:
            return None
        return self.counted_ml - self.expected_at_count_ml

    @property
    def beyond_tolerance(self) -> bool:
        """Whether the last count differs from the book by more than the tolerance."""
        difference = self.count_difference_ml
        return difference is not None and abs(difference) > self.tolerance_ml


def reconcile(
    entries: list[Entry], tolerance: tuple[Decimal, Decimal, str], until: datetime | None = None
) -> VialBalance | None:
    """Reconcile one vial's entries (up to `until`); None without a receipt."""
    if until is not None:
        entries = [e for e in entries if e.record.at <= until]
    receipt = next((e for e in entries if e.record.event == "receipt"), None)
    if receipt is None:
        return None
    conc = dec(receipt.record.concentration_mg_per_ml)
    fill = dec(receipt.record.fill_ml or receipt.record.ml)
    by_ml, by_pct, rule = tolerance
    pick = max if rule == "larger" else min
    balance = VialBalance(
        vial=receipt.record.vial_id,
        clinician=receipt.clinician,
        mg_per_ml=conc,
        fill_ml=fill,
        lot=receipt.record.lot,
        receipt_id=receipt.id,
        figures=defaultdict(Figure),
        tolerance_ml=pick(by_ml, fill * by_pct / 100),
    )
    for entry in entries:
        event = entry.record.event
        if event in (*USES, "draw", "overage"):
            balance.figures[event].add(entry)
        elif event == "count":
            balance.counted_ml, balance.count_id = entry.ml, entry.id
            balance.expected_at_count_ml = _in_vial(balance) / conc
        elif event in ("checkout", "return"):
            balance.returned = event == "return"
    return balance


def _in_vial(balance: VialBalance) -> Decimal:
    """What should be in the vial itself (drawn drug waits in a syringe or bag)."""
    f = balance.figures
    out = max(f["draw"].mg, f["administration"].mg + f["waste"].mg)
    return balance.start_mg + f["overage"].mg - out - f["breakage"].mg - f["loss"].mg
