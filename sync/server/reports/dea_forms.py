"""The data DEA Form 106 (theft or significant loss) and Form 41 (destruction) ask for,
prepared from the incident, resolution, loss, waste and breakage records."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sync.dates import add_business_days
from sync.server.records_config import DeaSettings, Registration
from sync.server.reports.dea_balance import Discrepancy
from sync.server.reports.dea_logs import strength
from sync.server.reports.ledger import Entry, Ledger, VialBalance
from sync.server.reports.table import Section, num


def form106(
    ledger: Ledger,
    found: list[Discrepancy],
    entries: list[Entry],
    balances: dict[str, VialBalance],
    settings: DeaSettings,
    registration: Registration,
) -> Section:
    """Form 106 data: each significant loss, from a resolved discrepancy or a loss entry."""
    section = Section(
        "form106",
        "DEA Form 106 data: theft or significant loss (1301.76(b))",
        ["discovered_on", "registration", "substance", "strength", "vial", "lot", "mg_lost",
         "ml_lost", "field_division_notice_due", "form106_due", "circumstances",
         "incident_id", "record_id"],
    )  # fmt: skip
    losses: list[tuple[date, str, Decimal, Decimal, str, str, str]] = []
    for d in found:
        r = d.resolution
        balance = balances.get(d.incident.vial_id or "")
        if r is None or not r.record.significant_loss or balance is None:
            continue
        short = -(balance.count_difference_ml or Decimal(0))
        losses.append(
            (d.incident.occurred_at.date(), balance.vial, short * balance.mg_per_ml, short,
             r.record.note or "", str(d.incident.id), r.id)
        )  # fmt: skip
    for e in entries:
        if e.record.event == "loss" and e.record.significant_loss:
            losses.append((e.day, e.record.vial_id, e.mg, e.ml, e.record.note or "", "", e.id))
    rules = settings.loss_reporting
    for day, vial, mg, ml, why, incident_id, record_id in losses:
        balance = balances.get(vial)
        section.add(
            discovered_on=day.isoformat(),
            registration=registration.number,
            substance=settings.substance,
            strength=f"{num(balance.mg_per_ml)} mg/mL" if balance else "",
            vial=vial,
            lot=(balance.lot or "") if balance else "",
            mg_lost=num(mg),
            ml_lost=num(ml),
            field_division_notice_due=str(add_business_days(day, rules.notice_business_days)),
            form106_due=(day + timedelta(days=rules.form106_days)).isoformat(),
            circumstances=why,
            incident_id=incident_id,
            record_id=record_id,
        )
    return section


def form41(ledger: Ledger, entries: list[Entry], settings: DeaSettings) -> Section:
    """Form 41 data: stock destroyed (waste outside any visit) and breakage or spills.

    Leftover drug wasted after an administration is recorded but needs no Form 41 (DEA's
    letter on wastage); destruction of stock needs two employees as witnesses (1304.21(e)).
    """
    section = Section(
        "form41",
        "DEA Form 41 data: destruction of stock, breakage and spills",
        ["date", "substance", "strength", "vial", "mg", "ml", "what", "method", "witness_1",
         "witness_2", "record_id"],
    )  # fmt: skip
    for e in entries:
        stock_waste = e.record.event == "waste" and e.record.visit_id is None
        if not stock_waste and e.record.event != "breakage":
            continue
        names = [n.strip() for n in (e.record.witness or "").split(";") if n.strip()]
        names += ["", ""]
        section.add(
            date=e.day.isoformat(),
            substance=settings.substance,
            strength=strength(e),
            vial=e.record.vial_id,
            mg=num(e.mg),
            ml=num(e.ml),
            what="destroyed from stock" if stock_waste else "breakage or spill",
            method=e.record.method or "",
            witness_1=names[0],
            witness_2=names[1],
            record_id=e.id,
        )
    return section
