"""The DEA report of a recorded demo day, checked against the ledger records it came from.

The day is recorded on real encrypted stores through the services and pushed over HTTP
(`tests/sync/recorded.py`); the report is then built by the server from what it stored,
and every figure is recomputed here from the raw stored records.
"""

from __future__ import annotations

import csv
import json
import os
import stat
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from fieldapp.cli import main
from sync.server.config import default_config_file
from sync.server.db import transaction
from sync.server.models import DeviceRecordRow
from sync.server.records_config import Inventory, load_dea
from sync.server.reports.dea import ReportScope, build_report
from sync.server.reports.inventory import InventoryDue, inventory_due, take_inventory
from sync.server.reports.writers import write_csv, write_pdf
from tests.sync.recorded import DAY, SHORT_ML, recorded_demo_day

ZONE = ZoneInfo("America/Los_Angeles")


def stored(app: Any, kind: str) -> list[dict[str, Any]]:
    """Every stored record of a kind, as the server holds it."""
    with transaction(app.state.ctx.engine) as session:
        rows = session.execute(
            select(DeviceRecordRow.payload).where(DeviceRecordRow.kind == kind)  # type: ignore[arg-type]
        ).scalars()
        return [json.loads(row) for row in rows]


def report_for(app: Any, clock: Any, **scope: Any) -> Any:
    with transaction(app.state.ctx.engine) as session:
        return build_report(session, load_dea(), ReportScope(DAY, DAY, **scope), ZONE, clock())


def d(text: str) -> Decimal:
    return Decimal(text) if text else Decimal(0)


async def test_a_demo_days_report_balances_against_its_ledger_records(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    laptops = await recorded_demo_day(app, api, tmp_path)
    report = report_for(app, clock)
    entries = stored(app, "substance")
    by_vial: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        by_vial[entry["vial_id"]][entry["event"]].append(entry)
    assert set(by_vial) == {v for laptop in laptops for v in laptop.day.vials}

    # The administration log lists each administration entry once, with its figures.
    log = report.section("administrations").rows
    logged = {row["record_id"]: row for row in log}
    given_entries = [e for e in entries if e["event"] == "administration"]
    assert sorted(logged) == sorted(e["id"] for e in given_entries)
    for entry in given_entries:
        assert d(logged[entry["id"]]["mg"]) == Decimal(str(entry["mg"]))
        assert logged[entry["id"]]["patient"] and logged[entry["id"]]["patient_address"]
    # ...and the clinical dose records agree with the ledger, dose by dose.
    doses = {(r["visit_id"], Decimal(str(r["dose_mg"]))) for r in stored(app, "dose_admin")}
    assert doses == {(e["visit_id"], Decimal(str(e["mg"]))) for e in given_entries}

    for row in report.section("vials").rows:
        raw = by_vial[row["vial"]]
        receipt = raw["receipt"][0]
        start = Decimal(str(receipt["concentration_mg_per_ml"])) * Decimal(str(receipt["fill_ml"]))
        sums = {
            event: sum((Decimal(str(e["mg"])) for e in raw[event]), Decimal(0))
            for event in ("administration", "waste", "breakage", "loss", "overage")
        }
        assert d(row["start_mg"]) == start
        assert d(row["administered_mg"]) == sums["administration"]
        assert d(row["wasted_mg"]) == sums["waste"]
        # Every mg is accounted for: given, wasted, broken, lost, or still in the vial.
        accounted = sum(sums[k] for k in ("administration", "waste", "breakage", "loss"))
        assert start + sums["overage"] == accounted + d(row["remaining_mg"])
        # ...and every mL: the last count plus a documented count difference.
        counted = raw["count"][-1]
        assert d(row["counted_ml"]) == Decimal(str(counted["ml"]))
        assert d(row["remaining_ml"]) == d(row["counted_ml"]) - d(row["count_difference_ml"])
        # Each figure names exactly the records it was summed from.
        assert sorted(row["administered_ids"].split()) == sorted(
            e["id"] for e in raw["administration"]
        )
        assert row["wasted_ids"].split() == [e["id"] for e in raw["waste"]]
        assert row["receipt_id"] == receipt["id"] and row["count_id"] == counted["id"]
    # The waste after the infusion stopped early names its witness.
    assert all(
        w["witnesses"] and w["witnesses_licensed"] == "yes" for w in report.section("waste").rows
    )
    assert len(report.section("waste").rows) == len([e for e in entries if e["event"] == "waste"])


async def test_the_discrepancy_day_shows_its_incident_and_resolution(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    _, c02 = await recorded_demo_day(app, api, tmp_path)
    vial = c02.day.vials[0]
    report = report_for(app, clock, clinician="c02")
    (row,) = report.section("vials").rows
    assert row["vial"] == vial
    assert d(row["count_difference_ml"]) == -SHORT_ML
    assert row["status"] == "discrepancy, resolved: not significant"
    (incident,) = [i for i in stored(app, "incident") if i["category"] == "ledger_discrepancy"]
    (resolution,) = [e for e in stored(app, "substance") if e["event"] == "resolution"]
    assert row["incident_ids"].split() == [incident["id"], resolution["id"]]
    (found,) = report.section("discrepancies").rows
    assert found["incident_id"] == incident["id"] and found["resolution_id"] == resolution["id"]
    assert found["supervisor"] == resolution["witness"]
    assert found["resolution"] == resolution["note"] and found["significant_loss"] == "no"
    (day,) = report.section("days").rows
    (close,) = [c for c in stored(app, "day_close") if c["recorded_by"] == "c02"]
    assert day["close_status"] == "discrepancy" and day["close_record_id"] == close["id"]
    assert report.section("form106").rows == []  # not a significant loss
    # The other clinician's report holds nothing of c02's day.
    assert {r["vial"] for r in report_for(app, clock, clinician="c01").section("vials").rows} == {
        v for v in {r["vial_id"] for r in stored(app, "substance")} if v != vial
    }


async def test_a_significant_loss_prepares_form_106_with_its_deadlines(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    _, c02 = await recorded_demo_day(app, api, tmp_path, significant=True)
    report = report_for(app, clock, clinician="c02")
    (form,) = report.section("form106").rows
    assert form["vial"] == c02.day.vials[0]
    assert d(form["ml_lost"]) == SHORT_ML and d(form["mg_lost"]) == SHORT_ML * 10
    discovered = date.fromisoformat(form["discovered_on"])
    assert date.fromisoformat(form["form106_due"]) == discovered + timedelta(days=45)
    notice = date.fromisoformat(form["field_division_notice_due"])
    assert notice > discovered and notice.weekday() < 5 and (notice - discovered).days <= 3
    assert form["registration"] == load_dea().registrations[0].number
    assert report.section("vials").rows[0]["status"] == "discrepancy, resolved: significant loss"


async def test_the_pdf_holds_the_fields_the_dea_requires(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    await recorded_demo_day(app, api, tmp_path)
    report = report_for(app, clock)
    path = write_pdf(report, tmp_path / "dea.pdf")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    squeezed = "".join(text.split())  # table cells wrap long words across lines

    def holds(value: str) -> bool:
        return "".join(value.split()) in squeezed

    dea = load_dea()
    registration = dea.registrations[0]
    for required in (registration.name, registration.number, registration.address,
                     dea.substance, f"Schedule {dea.schedule}", dea.supplier.name,
                     dea.supplier.dea_number, "Registrant or practitioner: signature"):  # fmt: skip
        assert holds(required), required
    # 1304.22(c): each administration's patient, address, date, quantity and practitioner.
    for row in report.section("administrations").rows:
        for field in ("patient", "patient_address", "date", "mg", "ml", "vial",
                      "administered_by", "record_id"):  # fmt: skip
            assert holds(row[field]), (field, row[field])
    for row in report.section("waste").rows:
        assert holds(row["witnesses"]) and holds(row["record_id"])
    for row in report.section("discrepancies").rows:
        assert holds(row["incident_id"]) and holds(row["resolution_id"])
        assert holds(row["supervisor"])
    for row in report.section("vials").rows:
        assert holds(row["administered_ids"].split()[0])


async def test_csv_files_hold_every_row_and_only_their_owner_reads_them(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    await recorded_demo_day(app, api, tmp_path)
    report = report_for(app, clock)
    files = write_csv(report, tmp_path / "csv")
    assert {f.name for f in files} == {"summary.csv"} | {f"{s.name}.csv" for s in report.sections}
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with (tmp_path / "csv" / "administrations.csv").open(newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == report.section("administrations").rows
    # A period with nothing recorded gives empty tables, not an error.
    with transaction(app.state.ctx.engine) as session:
        empty = build_report(
            session, load_dea(), ReportScope(DAY + timedelta(days=1), DAY + timedelta(days=7)),
            ZONE, clock(),
        )  # fmt: skip
    assert all(not s.rows for s in empty.sections)


async def test_the_inventory_counts_what_the_ledger_holds_and_restarts_the_calendar(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    await recorded_demo_day(app, api, tmp_path)
    report = report_for(app, clock)
    with transaction(app.state.ctx.engine) as session:
        row, on_hand = take_inventory(
            session, load_dea(), None, DAY, "close", "biennial", "cli", ZONE, clock()
        )
    assert {v.vial: v.book_ml for v in on_hand} == {
        r["vial"]: r["remaining_ml"] for r in report.section("vials").rows
    }
    assert all(v.opened for v in on_hand)
    with transaction(app.state.ctx.engine) as session:
        due = inventory_due(session, load_dea(), row.registration, DAY)
        before = inventory_due(session, load_dea(), row.registration, DAY - timedelta(days=1))
    assert due.last_kind == "biennial" and due.due_on == date(DAY.year + 2, DAY.month, DAY.day)
    assert before.days_left < 0  # the day before, the initial inventory's calendar had run out


@given(
    days_left=st.integers(min_value=-30, max_value=900),
    reminders=st.lists(st.integers(min_value=1, max_value=365), max_size=5),
)
def test_the_reminder_is_the_nearest_one_already_reached(
    days_left: int, reminders: list[int]
) -> None:
    inventory = Inventory(
        initial_on=date(2026, 1, 5), biennial_years=2, remind_days_before=reminders
    )
    due = date(2028, 1, 5)
    today = due - timedelta(days=days_left)

    class NoInventories:
        def exec(self, _query: Any) -> Any:
            return self

        def first(self) -> None:
            return None

    settings = load_dea().model_copy(update={"inventory": inventory})
    found: InventoryDue = inventory_due(NoInventories(), settings, "AB1234563", today)  # type: ignore[arg-type]
    assert found.due_on == due and found.days_left == days_left
    reached = [r for r in reminders if days_left <= r]
    assert found.reminder_days == (min(reached) if reached else None)
    assert ("OVERDUE" in found.sentence()) == (days_left < 0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_writes_the_report_and_refuses_bad_input(
    db_url: str, tmp_path: Path, capsys: Any
) -> None:
    base = ["server", "--database-url", db_url, "report", "dea"]
    out = tmp_path / "dea.pdf"
    assert main([*base, "--from", "2030-03-04", "--to", "2030-03-04", "--out", str(out)]) == 0
    assert out.exists() and "biennial inventory" in capsys.readouterr().out
    assert main([*base, "--from", "2030-03-05", "--to", "2030-03-04", "--out", str(out)]) == 2
    assert "--to is before --from" in capsys.readouterr().err
    bad = tmp_path / "dea.toml"
    bad.write_text(
        (default_config_file().parent / "dea.toml")
        .read_text()
        .replace('"AB1234563"', '"AB1234564"'),
        encoding="utf-8",
    )
    argv = [*base, "--from", "2030-03-04", "--to", "2030-03-04", "--out", str(out)]
    assert main([*argv, "--dea-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "registrations.0.number" in err and "check digit" in err
    assert main([*argv, "--registration", "ZZ0000000"]) == 2
    assert "no DEA registration" in capsys.readouterr().err
