"""The DEA report's logs: administrations, receipts, witnessed waste and breakage, custody.

Each line is one ledger record, named by its id (1304.22(c) fields, CLINICAL.md §3).
"""

from __future__ import annotations

from decimal import Decimal

from sync.server.records_config import DeaSettings
from sync.server.reports.ledger import Entry, Ledger
from sync.server.reports.table import Section, num


def when(entry: Entry) -> tuple[str, str]:
    """The entry's clinic day and its time of day."""
    return entry.day.isoformat(), entry.record.at.strftime("%H:%M")


def strength(entry: Entry, fill_ml: Decimal | None = None) -> str:
    """The form's strength (and the container's volume, when given)."""
    text = f"{num(Decimal(str(entry.record.concentration_mg_per_ml)))} mg/mL"
    return f"{text}, {num(fill_ml)} mL vial" if fill_ml else text


def patient(ledger: Ledger, entry: Entry) -> tuple[str, str]:
    """The patient's name and address, as 1304.22(c) asks."""
    contact = ledger.patients.get(str(entry.record.patient_id), {})
    address = contact.get("address") or {}
    street = ", ".join(
        part
        for part in (
            address.get("street"),
            address.get("unit"),
            address.get("city"),
            f"{address.get('state', '')} {address.get('postal_code', '')}".strip(),
        )
        if part
    )
    return str(contact.get("display_name", "")), street


def _fills(ledger: Ledger) -> dict[str, tuple[Decimal, str | None]]:
    """Each vial's fill volume and lot, from its receipt."""
    return {
        e.record.vial_id: (Decimal(str(e.record.fill_ml or e.record.ml)), e.record.lot)
        for e in ledger.entries
        if e.record.event == "receipt"
    }


def administrations(ledger: Ledger, entries: list[Entry], settings: DeaSettings) -> Section:
    """The administration log: one line per dose given."""
    section = Section(
        "administrations",
        "Administration log (1304.22(c))",
        ["date", "time", "patient", "patient_address", "substance", "form_strength", "mg", "ml",
         "vial", "lot", "administered_by", "visit_id", "record_id"],
    )  # fmt: skip
    fills = _fills(ledger)
    for entry in entries:
        if entry.record.event != "administration":
            continue
        day, at = when(entry)
        name, address = patient(ledger, entry)
        fill, lot = fills.get(entry.record.vial_id, (None, None))
        section.add(
            date=day,
            time=at,
            patient=name,
            patient_address=address,
            substance=settings.substance,
            form_strength=f"{settings.dosage_form}, {strength(entry, fill)}",
            mg=num(entry.mg),
            ml=num(entry.ml),
            vial=entry.record.vial_id,
            lot=lot or "",
            administered_by=ledger.person(entry.clinician),
            visit_id=str(entry.record.visit_id or ""),
            record_id=entry.id,
        )
    return section


def receipts(ledger: Ledger, entries: list[Entry], settings: DeaSettings) -> Section:
    """Each vial received, with the supplier the invoice names."""
    section = Section(
        "receipts",
        "Receipts (1304.22(a)(2)(iv))",
        ["date_received", "substance", "form_strength", "containers", "mg", "ml", "supplier",
         "supplier_address", "supplier_dea", "lot", "vial", "received_by", "record_id"],
    )  # fmt: skip
    for entry in entries:
        if entry.record.event != "receipt":
            continue
        fill = Decimal(str(entry.record.fill_ml or entry.record.ml))
        section.add(
            date_received=entry.day.isoformat(),
            substance=settings.substance,
            form_strength=f"{settings.dosage_form}, {strength(entry, fill)}",
            containers="1",
            mg=num(entry.mg),
            ml=num(entry.ml),
            supplier=settings.supplier.name,
            supplier_address=settings.supplier.address,
            supplier_dea=settings.supplier.dea_number,
            lot=entry.record.lot or "",
            vial=entry.record.vial_id,
            received_by=ledger.person(entry.clinician),
            record_id=entry.id,
        )
    return section


def witnessed(ledger: Ledger, entries: list[Entry], event: str, title: str) -> Section:
    """Waste or breakage entries with their witnesses."""
    section = Section(
        event,
        title,
        ["date", "time", "vial", "mg", "ml", "method", "witnesses", "witnesses_licensed",
         "patient", "recorded_by", "visit_id", "record_id"],
    )  # fmt: skip
    for entry in entries:
        if entry.record.event != event:
            continue
        day, at = when(entry)
        licensed = entry.record.witness_licensed
        section.add(
            date=day,
            time=at,
            vial=entry.record.vial_id,
            mg=num(entry.mg),
            ml=num(entry.ml),
            method=entry.record.method or "",
            witnesses=entry.record.witness or "",
            witnesses_licensed="" if licensed is None else ("yes" if licensed else "no"),
            patient=patient(ledger, entry)[0] if entry.record.patient_id else "",
            recorded_by=ledger.person(entry.clinician),
            visit_id=str(entry.record.visit_id or ""),
            record_id=entry.id,
        )
    return section


def custody(ledger: Ledger, entries: list[Entry]) -> Section:
    """Each vial carried out and returned: the chain of custody."""
    section = Section(
        "custody",
        "Chain of custody: carried out from and returned to the registered location",
        ["date", "time", "vial", "event", "by", "record_id"],
    )
    words = {"checkout": "carried out", "return": "returned to base"}
    for entry in entries:
        if entry.record.event in words:
            day, at = when(entry)
            section.add(
                date=day,
                time=at,
                vial=entry.record.vial_id,
                event=words[entry.record.event],
                by=ledger.person(entry.clinician),
                record_id=entry.id,
            )
    return section
