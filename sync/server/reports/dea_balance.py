"""The DEA report's reconciliation: each vial's balance and each day's, and every
discrepancy with its incident and resolution. Each figure lists the records behind it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sync.records import DayClosure, Incident
from sync.server.reports.ledger import USES, Entry, Ledger, VialBalance, reconcile
from sync.server.reports.table import Section, ids, num


def vial_status(ledger: Ledger, balance: VialBalance) -> tuple[str, list[str]]:
    """A vial's standing in words, and the incident and resolution ids behind it."""
    incidents = [str(i.id) for i, _ in ledger.incidents if i.vial_id == balance.vial]
    resolution = next(
        (e for e in reversed(ledger.vial_entries(balance.vial)) if e.record.event == "resolution"),
        None,
    )
    trail = incidents + ([resolution.id] if resolution else [])
    if balance.counted_ml is None:
        return "not counted", trail
    if not balance.beyond_tolerance:
        return "balanced", trail
    if resolution is not None:
        kind = "significant loss" if resolution.record.significant_loss else "not significant"
        return f"discrepancy, resolved: {kind}", trail
    if incidents:
        return "discrepancy, open", trail
    return "count beyond tolerance with no incident", trail


def vials_section(ledger: Ledger, balances: list[VialBalance]) -> Section:
    """Each vial's balance and count, with the record ids behind every figure."""
    section = Section(
        "vials",
        "Per-vial reconciliation: start + overage = administered + wasted + breakage + loss "
        "+ remaining",
        ["vial", "clinician", "strength_mg_per_ml", "fill_ml", "lot", "start_mg", "overage_mg",
         "administered_mg", "wasted_mg", "breakage_mg", "loss_mg", "remaining_mg",
         "remaining_ml", "counted_ml", "count_difference_ml", "tolerance_ml", "status",
         "receipt_id", "administered_ids", "wasted_ids", "breakage_ids", "loss_ids",
         "overage_ids", "count_id", "incident_ids"],
    )  # fmt: skip
    for b in balances:
        status, trail = vial_status(ledger, b)
        f = b.figures
        section.add(
            vial=b.vial,
            clinician=ledger.person(b.clinician),
            strength_mg_per_ml=num(b.mg_per_ml),
            fill_ml=num(b.fill_ml),
            lot=b.lot or "",
            start_mg=num(b.start_mg),
            overage_mg=num(f["overage"].mg),
            administered_mg=num(f["administration"].mg),
            wasted_mg=num(f["waste"].mg),
            breakage_mg=num(f["breakage"].mg),
            loss_mg=num(f["loss"].mg),
            remaining_mg=num(b.remaining_mg),
            remaining_ml=num(b.remaining_ml),
            counted_ml=num(b.counted_ml),
            count_difference_ml=num(b.count_difference_ml),
            tolerance_ml=num(b.tolerance_ml),
            status=status,
            receipt_id=b.receipt_id or "",
            administered_ids=ids(f["administration"].ids),
            wasted_ids=ids(f["waste"].ids),
            breakage_ids=ids(f["breakage"].ids),
            loss_ids=ids(f["loss"].ids),
            overage_ids=ids(f["overage"].ids),
            count_id=b.count_id or "",
            incident_ids=ids(trail),
        )
    return section


def days_section(ledger: Ledger, entries: list[Entry]) -> Section:
    """Each clinician's day per vial: opening, uses, closing, count and the day's close."""
    section = Section(
        "days",
        "Per-day reconciliation, each vial each clinician's day, with the day's close",
        ["date", "clinician", "vial", "opening_ml", "administered_ml", "wasted_ml",
         "breakage_ml", "loss_ml", "closing_ml", "counted_ml", "close_status", "closed_at",
         "close_record_id", "entry_ids"],
    )  # fmt: skip
    groups: dict[tuple[date, str, str], list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[(entry.day, entry.clinician, entry.record.vial_id)].append(entry)
    for (day, clinician, vial), day_entries in sorted(groups.items()):
        history = ledger.vial_entries(vial)
        first = day_entries[0].record.at
        before = reconcile([e for e in history if e.record.at < first], ledger.tolerance)
        after = reconcile(history, ledger.tolerance, day_entries[-1].record.at)
        amounts: dict[str, Decimal] = defaultdict(Decimal)
        for entry in day_entries:
            if entry.record.event in USES:
                amounts[entry.record.event] += entry.ml
        close, status = _close_of(ledger, day, clinician, vial)
        counts = [e for e in day_entries if e.record.event == "count"]
        section.add(
            date=day.isoformat(),
            clinician=ledger.person(clinician),
            vial=vial,
            opening_ml=num(before.remaining_ml) if before else "0",
            administered_ml=num(amounts["administration"]),
            wasted_ml=num(amounts["waste"]),
            breakage_ml=num(amounts["breakage"]),
            loss_ml=num(amounts["loss"]),
            closing_ml=num(after.remaining_ml) if after else "",
            counted_ml=num(counts[-1].ml) if counts else "",
            close_status=status,
            closed_at=close.closed_at.isoformat(timespec="minutes") if close else "",
            close_record_id=str(close.id) if close else "",
            entry_ids=ids([e.id for e in day_entries]),
        )
    return section


def _close_of(
    ledger: Ledger, day: date, clinician: str, vial: str
) -> tuple[DayClosure | None, str]:
    for close, who in reversed(ledger.closes):
        if close.day == day and who == clinician:
            status = next((v.status for v in close.vials if v.vial_id == vial), "not listed")
            return close, status
    return None, "day not closed"


@dataclass(frozen=True)
class Discrepancy:
    """A ledger discrepancy incident and the supervisor's resolution of it, if any."""

    incident: Incident
    clinician: str
    resolution: Entry | None


def discrepancies(ledger: Ledger, vials: list[str]) -> list[Discrepancy]:
    """Each ledger discrepancy of these vials, with its resolution, if any."""
    found = []
    for incident, who in ledger.incidents:
        if incident.vial_id not in vials:
            continue
        resolution = next(
            (
                e
                for e in ledger.vial_entries(incident.vial_id or "")
                if e.record.event == "resolution" and e.record.at >= incident.occurred_at
            ),
            None,
        )
        found.append(Discrepancy(incident, who, resolution))
    return found


def discrepancies_section(ledger: Ledger, found: list[Discrepancy]) -> Section:
    """Each discrepancy with its incident and the supervisor's resolution (or open)."""
    section = Section(
        "discrepancies",
        "Discrepancies, their incidents and resolutions",
        ["vial", "discovered_at", "clinician", "incident", "incident_id", "resolved_at",
         "supervisor", "resolution", "significant_loss", "resolution_id"],
    )  # fmt: skip
    for d in found:
        r = d.resolution.record if d.resolution else None
        section.add(
            vial=d.incident.vial_id or "",
            discovered_at=d.incident.occurred_at.isoformat(timespec="minutes"),
            clinician=ledger.person(d.clinician),
            incident=d.incident.description,
            incident_id=str(d.incident.id),
            resolved_at=r.at.isoformat(timespec="minutes") if r else "",
            supervisor=(r.witness or "") if r else "",
            resolution=(r.note or "") if r else "open: awaiting a supervisor's decision",
            significant_loss=yes(r.significant_loss) if r else "",
            resolution_id=d.resolution.id if d.resolution else "",
        )
    return section


def yes(value: bool | None) -> str:
    """A yes/no cell; empty when nothing was said."""
    return "" if value is None else ("yes" if value else "no")
