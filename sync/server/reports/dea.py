"""The DEA records report (21 CFR 1304.21-1304.22; CLINICAL.md §3) for a period.

For a date range, a registration, a clinician or a vial: the administration log, receipts,
waste with its witnesses, breakage, chain of custody, each vial's reconciliation and each
day's, every discrepancy with its incident and resolution, and the data DEA Form 106
(theft or significant loss) and Form 41 (destruction) ask for. Every line names the ledger
record it came from; every reconciled figure lists the records it was summed from.

The report is a list of sections, each a table of text cells, so the CSV and PDF writers
(`dea_csv.py`, `dea_pdf.py`) stay format-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session

from sync.server.records_config import DeaSettings, Registration
from sync.server.reports import dea_balance, dea_forms, dea_logs
from sync.server.reports.inventory import InventoryDue, inventory_due
from sync.server.reports.ledger import VialBalance, load_ledger, reconcile
from sync.server.reports.table import Report


@dataclass
class ReportScope:
    """What the report covers."""

    first: date
    last: date
    registration: str | None = None
    clinician: str | None = None
    vial: str | None = None


SIGNATURES = ["Registrant or practitioner", "Witness"]


@dataclass
class DeaReport(Report):
    """The report, the inventory calendar and each vial's balance as reconciled."""

    inventory: InventoryDue | None = None
    vials: list[VialBalance] = field(default_factory=list)


def build_report(
    session: Session,
    settings: DeaSettings,
    scope: ReportScope,
    zone: ZoneInfo,
    now: datetime,
) -> DeaReport:
    """The DEA report for the scope, from the records stored on the server."""
    registration = settings.registration(scope.registration)
    clinicians = [scope.clinician] if scope.clinician else registration.clinicians
    ledger = load_ledger(session, zone, clinicians)
    until = datetime.combine(scope.last, time.max, zone)
    in_scope = [
        e
        for e in ledger.entries
        if scope.first <= e.day <= scope.last and scope.vial in (None, e.record.vial_id)
    ]
    vial_names = sorted({e.record.vial_id for e in in_scope})
    balances = [
        b
        for b in (reconcile(ledger.vial_entries(v), ledger.tolerance, until) for v in vial_names)
        if b is not None
    ]
    by_vial = {b.vial: b for b in balances}
    found = dea_balance.discrepancies(ledger, vial_names)
    sections = [
        dea_logs.administrations(ledger, in_scope, settings),
        dea_logs.receipts(ledger, in_scope, settings),
        dea_logs.witnessed(ledger, in_scope, "waste", "Waste (witnessed)"),
        dea_logs.witnessed(ledger, in_scope, "breakage", "Breakage and spills (two witnesses)"),
        dea_logs.custody(ledger, in_scope),
        dea_balance.vials_section(ledger, balances),
        dea_balance.days_section(ledger, in_scope),
        dea_balance.discrepancies_section(ledger, found),
        dea_forms.form106(ledger, found, in_scope, by_vial, settings, registration),
        dea_forms.form41(ledger, in_scope, settings),
    ]
    due = inventory_due(session, settings, registration.number, now.astimezone(zone).date())
    header = _header(settings, registration, scope, now, zone, due, len(in_scope))
    return DeaReport(
        title="DEA controlled-substance records",
        header=header,
        sections=sections,
        signatures=SIGNATURES,
        inventory=due,
        vials=balances,
    )


def _header(
    settings: DeaSettings,
    registration: Registration,
    scope: ReportScope,
    now: datetime,
    zone: ZoneInfo,
    due: InventoryDue,
    entries: int,
) -> dict[str, str]:
    return {
        "Registrant": registration.name,
        "DEA registration": registration.number,
        "Registered address": registration.address,
        "Substance": f"{settings.substance}, Schedule {settings.schedule}, {settings.dosage_form}",
        "Period": f"{scope.first.isoformat()} to {scope.last.isoformat()} ({zone.key})",
        "Clinician": scope.clinician or "all of this registration",
        "Vial": scope.vial or "all",
        "Ledger records in period": str(entries),
        "Biennial inventory": due.sentence(),
        "Generated": now.astimezone(zone).isoformat(timespec="minutes"),
    }
