"""Controlled-substance reconciliation (CLINICAL.md §3), per vial and per day.

Book balance, exact by construction and reported so it can be checked:
    start + overage = administered + wasted + breakage + loss + book_remaining
A physical count is compared with what should still be in the vial; beyond the
tolerance short is a DISCREPANCY (vial locked, incident opened) and long is an OVERAGE
to record as an adjustment. Unwitnessed waste, drawn drug not yet given or wasted, or a
vial not counted since its last use make the vial INCOMPLETE. A day closes only when
every vial is balanced or its discrepancy has a recorded significant-loss decision.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field

from fieldapp.clinical.dates import add_business_days, add_months, add_years
from fieldapp.clinical.protocol import Ledger, Protocol
from fieldapp.clinical.reasons import LEDGER_LADDER, Model, Reason, fmt, worst

USES = ("draw", "administer", "waste", "breakage", "loss")


class Witness(Model):
    """Who witnessed a waste or breakage, and how."""

    name: str = Field(min_length=1)
    licensed: bool = True
    method: str = "in_person"


class LedgerEvent(Model):
    """One ledger entry for one vial."""

    kind: Literal[
        "receipt",
        "checkout",
        "checkin",
        "return",
        "draw",
        "administer",
        "waste",
        "breakage",
        "loss",
        "count",
        "overage",
        "resolution",
    ]
    vial: str = Field(min_length=1)
    at: datetime
    mg: Decimal | None = Field(None, ge=0)
    ml: Decimal | None = Field(None, ge=0)
    mg_per_ml: Decimal | None = Field(None, gt=0)
    fill_ml: Decimal | None = Field(None, gt=0)
    measured_ml: Decimal | None = Field(None, ge=0)
    witnesses: list[Witness] = Field(default_factory=list)
    significant: bool | None = None
    reason: str | None = None


class Obligation(Model):
    """A reporting duty with its due date."""

    kind: str
    due: date


class VialStatus(Model):
    """Where one vial stands."""

    vial: str
    status: Literal["balanced", "overage", "incomplete", "discrepancy"]
    locked: bool
    incident_open: bool
    may_close: bool
    numbers: dict[str, Decimal | None]
    reasons: list[Reason]
    obligations: list[Obligation]


class DayLedger(Model):
    """The day's reconciliation."""

    day: date
    status: Literal["balanced", "overage", "incomplete", "discrepancy"]
    may_close: bool
    vials: dict[str, VialStatus]
    reasons: list[Reason]
    obligations: list[Obligation]
    purge_after: date


def tolerance_ml(fill_ml: Decimal, settings: Ledger) -> Decimal:
    """The count tolerance for a vial: the larger (or smaller) of mL and % of the fill."""
    by_pct = fill_ml * settings.tolerance_pct_of_vial / 100
    pick = max if settings.tolerance_rule == "larger" else min
    return pick(settings.tolerance_ml, by_pct)


def _r(rule: str, outcome: str, message: str, key: str | None = None, **kw: str) -> Reason:
    return Reason(
        rule_id=rule,
        outcome=outcome,
        message=message,
        setting=f"protocol.ledger.{key}" if key else None,
        **kw,
    )


def _witnessed(event: LedgerEvent, settings: Ledger, needed: int) -> bool:
    valid = [
        w
        for w in event.witnesses
        if w.method in settings.waste_witness_methods
        and (w.licensed or not settings.waste_witness_must_be_licensed)
    ]
    return len({w.name for w in valid}) >= needed


def evaluate_vial(events: list[LedgerEvent], protocol: Protocol) -> VialStatus:
    """Reconcile one vial from its whole history."""
    s = protocol.ledger
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].at, pair[0]))
    events = [event for _, event in ordered]
    name = events[0].vial
    receipts = [e for e in events if e.kind == "receipt"]
    if len(receipts) != 1 or receipts[0].mg_per_ml is None or receipts[0].fill_ml is None:
        reason = _r(
            "no_receipt",
            "incomplete",
            f"Vial {name}: needs exactly one receipt with concentration and fill volume",
        )
        return VialStatus(
            vial=name,
            status="incomplete",
            locked=False,
            incident_open=False,
            may_close=False,
            numbers={},
            reasons=[reason],
            obligations=[],
        )
    conc, fill = receipts[0].mg_per_ml, receipts[0].fill_ml
    assert conc is not None and fill is not None
    tol = tolerance_ml(fill, s)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    reasons: list[Reason] = []
    obligations: list[Obligation] = []
    discrepancy_at: datetime | None = None
    last_use: datetime | None = None
    last_count: tuple[LedgerEvent, Decimal] | None = None
    resolved = False
    custody = "base"
    for event in events:
        amount = _amount(event, conc, s.entry_agreement_mg, reasons)
        if event.kind in USES or event.kind == "overage":
            totals[event.kind] += amount
        if event.kind in USES:
            last_use = event.at
        if event.kind == "waste" and not _witnessed(event, s, s.waste_witnesses):
            reasons.append(
                _r(
                    "waste_unwitnessed",
                    "incomplete",
                    f"Vial {name}: waste of "
                    f"{fmt(amount)} mg at {event.at:%H:%M} has no valid witness",
                    "waste_witnesses",
                )
            )
        if event.kind == "overage" and not (event.reason or "").strip():
            reasons.append(
                _r(
                    "overage_unexplained",
                    "incomplete",
                    f"Vial {name}: the overage of {fmt(amount)} mg at {event.at:%H:%M} "
                    "needs its reason (e.g. manufacturer overfill)",
                )
            )
        if event.kind == "breakage" and not _witnessed(event, s, s.breakage_witnesses):
            reasons.append(
                _r(
                    "breakage_unwitnessed",
                    "incomplete",
                    f"Vial {name}: breakage needs {s.breakage_witnesses} witnesses",
                    "breakage_witnesses",
                )
            )
        if event.kind in ("checkout", "checkin", "return"):
            custody = "out" if event.kind == "checkout" else "base"
        if event.kind == "loss" and event.significant:
            obligations += _loss_duties(event.at.date(), s)
        if event.kind == "resolution":
            if discrepancy_at is None or not event.reason:
                reasons.append(
                    _r(
                        "resolution_invalid",
                        "incomplete",
                        f"Vial {name}: a resolution needs an open discrepancy and a reason",
                    )
                )
            else:
                resolved = True
                if event.significant:
                    obligations += _loss_duties(discrepancy_at.date(), s)
        if event.kind == "count":
            if event.measured_ml is None:
                reasons.append(
                    _r("count_empty", "incomplete", f"Vial {name}: count without a measured volume")
                )
                continue
            expected = _in_vial(conc, fill, totals) / conc
            difference = event.measured_ml - expected
            last_count = (event, expected)
            if difference < -tol:
                discrepancy_at = discrepancy_at or event.at
                reasons.append(
                    _r(
                        "count_short",
                        "discrepancy",
                        f"Vial {name}: counted "
                        f"{fmt(event.measured_ml)} mL, expected {fmt(expected)} mL: "
                        f"{fmt(-difference)} mL ({fmt(-difference * conc)} mg) short, beyond the "
                        f"tolerance {fmt(tol)} mL",
                        "tolerance_ml",
                        measured=f"{fmt(event.measured_ml)} mL",
                        threshold=f"±{fmt(tol)} mL",
                    )
                )
    remaining = conc * fill + totals["overage"] - sum(totals[k] for k in USES if k != "draw")
    disposed = totals["administer"] + totals["waste"]
    if totals["draw"] and totals["draw"] != disposed:
        short = totals["draw"] < disposed
        if short:
            discrepancy_at = discrepancy_at or events[-1].at
        reasons.append(
            _r(
                "draw_mismatch",
                "discrepancy" if short else "incomplete",
                f"Vial {name}: drawn {fmt(totals['draw'])} mg, administered and wasted "
                f"{fmt(disposed)} mg"
                + (": more given than drawn" if short else ": the rest must be given or wasted"),
            )
        )
    if remaining < 0:
        discrepancy_at = discrepancy_at or events[-1].at
        reasons.append(
            _r(
                "overdrawn",
                "discrepancy",
                f"Vial {name}: entries take {fmt(-remaining)} mg more than the vial held",
            )
        )
    if s.require_closing_count and last_use and (last_count is None or last_count[0].at < last_use):
        reasons.append(
            _r(
                "not_counted",
                "incomplete",
                f"Vial {name}: no count since its last use",
                "require_closing_count",
            )
        )
    if custody == "out":
        reasons.append(_r("checked_out", "incomplete", f"Vial {name}: still checked out"))
    status_reasons = list(reasons)
    if last_count is not None and last_count[0].measured_ml is not None:
        expected_now = _in_vial(conc, fill, totals) / conc
        excess = last_count[0].measured_ml - expected_now
        if excess > tol:
            status_reasons.append(
                _r(
                    "count_over",
                    "overage",
                    f"Vial {name}: {fmt(excess)} mL more than expected: "
                    "record an overage adjustment",
                    "tolerance_ml",
                    measured=f"{fmt(last_count[0].measured_ml)} mL",
                    threshold=f"±{fmt(tol)} mL",
                )
            )
    status = worst((r.outcome for r in status_reasons), LEDGER_LADDER)
    numbers = {
        "start_mg": conc * fill,
        "overage_mg": totals["overage"],
        "administered_mg": totals["administer"],
        "wasted_mg": totals["waste"],
        "breakage_mg": totals["breakage"],
        "loss_mg": totals["loss"],
        "drawn_mg": totals["draw"],
        "remaining_mg": remaining,
        "remaining_ml": remaining / conc,
        "expected_in_vial_ml": _in_vial(conc, fill, totals) / conc,
        "measured_ml": last_count[0].measured_ml if last_count else None,
        "tolerance_ml": tol,
    }
    incomplete = any(r.outcome == "incomplete" for r in status_reasons)
    may_close = not incomplete and (status == "balanced" or (status == "discrepancy" and resolved))
    return VialStatus(
        vial=name,
        status=status,
        locked=status == "discrepancy",  # type: ignore[arg-type]
        incident_open=status == "discrepancy" and not resolved,
        may_close=may_close,
        numbers=numbers,
        reasons=status_reasons,
        obligations=obligations,
    )


def _amount(event: LedgerEvent, conc: Decimal, agree_mg: Decimal, reasons: list[Reason]) -> Decimal:
    if (
        event.mg is not None
        and event.ml is not None
        and abs(event.mg - event.ml * conc) >= agree_mg
    ):
        reasons.append(
            _r(
                "entry_mismatch",
                "discrepancy",
                f"Vial {event.vial}: "
                f"{fmt(event.mg)} mg and {fmt(event.ml)} mL disagree at "
                f"{fmt(conc)} mg/mL",
                "entry_agreement_mg",
            )
        )
    if event.mg is not None:
        return event.mg
    return event.ml * conc if event.ml is not None else Decimal(0)


def _in_vial(conc: Decimal, fill: Decimal, totals: dict[str, Decimal]) -> Decimal:
    """What should still be in the vial itself (drawn drug is in a syringe or bag)."""
    out = max(totals["draw"], totals["administer"] + totals["waste"])
    return conc * fill + totals["overage"] - out - totals["breakage"] - totals["loss"]


def _loss_duties(discovered: date, s: Ledger) -> list[Obligation]:
    return [
        Obligation(
            kind="dea_field_division_notice",
            due=add_business_days(discovered, s.loss_notice_business_days),
        ),
        Obligation(kind="dea_form_106", due=discovered + timedelta(days=s.form106_days)),
    ]


def evaluate_day(day: date, events: list[LedgerEvent], protocol: Protocol) -> DayLedger:
    """Reconcile every vial used on `day` from its history up to the end of that day."""
    by_vial: dict[str, list[LedgerEvent]] = defaultdict(list)
    for event in events:
        if event.at.date() <= day:
            by_vial[event.vial].append(event)
    used = sorted({e.vial for e in events if e.at.date() == day})
    vials = {name: evaluate_vial(by_vial[name], protocol) for name in used}
    reasons = [reason for status in vials.values() for reason in status.reasons]
    return DayLedger(
        day=day,
        status=worst((v.status for v in vials.values()), LEDGER_LADDER),  # type: ignore[arg-type]
        may_close=all(v.may_close for v in vials.values()),
        vials=vials,
        reasons=reasons,
        obligations=[o for v in vials.values() for o in v.obligations],
        purge_after=add_years(day, protocol.ledger.retention_years),
    )


def inventory_due(last_inventory: date, protocol: Protocol) -> tuple[date, date]:
    """The biennial inventory due date and the earliest date that may count for it."""
    s = protocol.ledger
    due = add_years(last_inventory, s.biennial_inventory_years)
    return due, add_months(due, -s.inventory_alignment_months)
