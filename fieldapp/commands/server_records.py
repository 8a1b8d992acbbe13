"""`fieldapp server report | export | hold | purge`: records leaving the clinic, from its host.

report dea | report inventory | report inventory-due | export fhir | hold add | hold list |
hold release | purge. Each run is audited with the actor `cli` (ids and counts, never
content). The files written hold patient data (DEA records must): they are created 0600.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from fieldapp.commands.server import _admin, cli_actor, settings_from
from fieldapp.errors import ConfigError, FieldAppError
from sync.server.config import ServerConfigError, ServerSettings
from sync.server.fhir.codes import Codes
from sync.server.fhir.export import Window, resources, window_until
from sync.server.fhir.output import Tally, write_bundles, write_ndjson
from sync.server.purge import PurgeRefused, Selection, execute_purge, plan_purge
from sync.server.records_config import load_dea, load_fhir, load_retention
from sync.server.reports.dea import ReportScope, build_report
from sync.server.reports.inventory import inventory_due, take_inventory
from sync.server.reports.table import Report, Section
from sync.server.reports.writers import write_csv, write_pdf
from sync.server.retention import list_holds, place_hold, release_hold


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _config(loader: Callable[[Path | None], Any], path: Path | None) -> Any:
    try:
        return loader(path)
    except ServerConfigError as exc:
        raise ConfigError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `report`, `export`, `hold` and `purge` under `fieldapp server`."""
    report = sub.add_parser("report", help="DEA records and inventories").add_subparsers(
        dest="report_command", required=True
    )
    dea = report.add_parser("dea", help="the DEA records of a period, as CSV or PDF")
    dea.add_argument("--from", dest="first", type=_day, required=True, metavar="YYYY-MM-DD")
    dea.add_argument("--to", dest="last", type=_day, required=True, metavar="YYYY-MM-DD")
    dea.add_argument("--registration", default=None, help="DEA number (default: the first)")
    dea.add_argument("--clinician", default=None, help="only this clinician's entries")
    dea.add_argument("--vial", default=None, help="only this vial")
    _output(dea, "a folder of CSV files, or the PDF file")
    dea.set_defaults(handler=cmd_report_dea)

    inventory = report.add_parser("inventory", help="take and record an inventory")
    inventory.add_argument("--as-of", type=_day, required=True, metavar="YYYY-MM-DD")
    inventory.add_argument("--kind", choices=("biennial", "ad_hoc", "initial"), default="ad_hoc")
    inventory.add_argument("--at", choices=("opening", "close"), default="close",
                           help="opening or close of business (1304.11(a))")  # fmt: skip
    inventory.add_argument("--registration", default=None)
    _output(inventory, "a folder of CSV files, or the PDF file")
    inventory.set_defaults(handler=cmd_report_inventory)

    due = report.add_parser("inventory-due", help="when the biennial inventory falls due")
    due.add_argument("--registration", default=None)
    due.add_argument("--dea-config", type=Path, default=None)
    due.set_defaults(handler=cmd_inventory_due)

    export = sub.add_parser("export", help="records for other systems").add_subparsers(
        dest="export_command", required=True
    )
    fhir = export.add_parser("fhir", help="FHIR R4: NDJSON per resource type, or Bundles")
    fhir.add_argument(
        "--since",
        type=_moment,
        default=None,
        help="only what arrived after this time (the `until` the last export printed)",
    )
    fhir.add_argument("--patient", default=None, help="only this patient's records")
    fhir.add_argument("--format", choices=("ndjson", "bundle"), default="ndjson")
    fhir.add_argument("--out", type=Path, required=True, help="the folder to write")
    fhir.add_argument("--fhir-config", type=Path, default=None, help="default config/fhir.toml")
    fhir.set_defaults(handler=cmd_export_fhir)

    hold = sub.add_parser("hold", help="legal holds").add_subparsers(
        dest="hold_command", required=True
    )
    add = hold.add_parser("add", help="hold a patient, a range of days, or both")
    add.add_argument("--patient", default=None)
    add.add_argument("--from", dest="first", type=_day, default=None, metavar="YYYY-MM-DD")
    add.add_argument("--to", dest="last", type=_day, default=None, metavar="YYYY-MM-DD")
    add.add_argument("--reason", required=True, help="the matter or case reference")
    add.set_defaults(handler=cmd_hold_add)
    listing = hold.add_parser("list", help="active holds (--all: released ones too)")
    listing.add_argument("--all", action="store_true")
    listing.set_defaults(handler=cmd_hold_list)
    release = hold.add_parser("release", help="release a hold")
    release.add_argument("hold_id")
    release.set_defaults(handler=cmd_hold_release)

    purge = sub.add_parser("purge", help="purge records past their retention")
    purge.add_argument(
        "--before",
        type=_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="only records dated before this day (refused if any is not due)",
    )
    purge.add_argument("--kind", action="append", default=None, help="only this kind (repeat)")
    purge.add_argument("--patient", default=None, help="only this patient's records")
    purge.add_argument("--dry-run", action="store_true", help="say what would go; purge nothing")
    purge.add_argument("--retention-config", type=Path, default=None)
    purge.set_defaults(handler=cmd_purge)


def _output(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--format", choices=("csv", "pdf"), default="pdf")
    parser.add_argument("--out", type=Path, required=True, help=what)
    parser.add_argument("--dea-config", type=Path, default=None, help="default config/dea.toml")


def _run(args: argparse.Namespace, action: str, work: Any) -> Any:
    """`_admin` (one transaction, one audit event), with database failures as a sentence."""
    try:
        return _admin(args, action, work)
    except SQLAlchemyError as exc:
        raise FieldAppError(
            f"The server database could not be used ({exc.__class__.__name__}): check "
            "--database-url, and run `fieldapp server migrate` if it is new."
        ) from None


def _zone(settings: ServerSettings) -> ZoneInfo:
    return ZoneInfo(settings.clinic_timezone)


def _write(report: Report, fmt: str, out: Path) -> str:
    try:
        if fmt == "csv":
            return f"{len(write_csv(report, out))} CSV files in {out}"
        return str(write_pdf(report, out))
    except OSError as exc:
        raise FieldAppError(f"{out}: cannot write the report ({exc.strerror})") from None


def cmd_report_dea(args: argparse.Namespace) -> int:
    """Write the DEA report of a period (audited as dea_report, counts only)."""
    if args.last < args.first:
        raise FieldAppError("--to is before --from.")
    dea = _config(load_dea, args.dea_config)
    scope = ReportScope(args.first, args.last, args.registration, args.clinician, args.vial)

    def work(session: Any, settings: ServerSettings, _now: float) -> Any:
        try:
            report = build_report(session, dea, scope, _zone(settings), datetime.now(UTC))
        except ServerConfigError as exc:
            raise FieldAppError(str(exc)) from None
        counts = {s.name: len(s.rows) for s in report.sections}
        detail = {"from": str(args.first), "to": str(args.last), "rows": counts}
        return report, detail

    report = _run(args, "dea_report", work)
    print(_write(report, args.format, args.out))
    for balance_line in _vial_lines(report.section("vials")):
        print(balance_line)
    print(f"biennial inventory: {report.inventory.sentence()}")
    return 0


def _vial_lines(vials: Section) -> list[str]:
    return [
        f"vial {row['vial']}: start {row['start_mg']} mg = given {row['administered_mg']} + "
        f"wasted {row['wasted_mg']} + broken {row['breakage_mg']} + lost {row['loss_mg']} + "
        f"left {row['remaining_mg']} mg; {row['status']}"
        for row in vials.rows
    ]


def cmd_report_inventory(args: argparse.Namespace) -> int:
    """Take an inventory from the ledger, record it and write it."""
    dea = _config(load_dea, args.dea_config)

    def work(session: Any, settings: ServerSettings, _now: float) -> Any:
        row, on_hand = take_inventory(
            session, dea, args.registration, args.as_of, args.at, args.kind, cli_actor(),
            _zone(settings), datetime.now(UTC),
        )  # fmt: skip
        return (row, on_hand), {"inventory": row.id, "kind": row.kind, "vials": len(on_hand)}

    row, on_hand = _run(args, "dea_inventory", work)
    columns = list(vars(on_hand[0])) if on_hand else ["vial"]
    section = Section("inventory", "Controlled substances on hand", columns)
    for vial in on_hand:
        section.add(**{k: str(v) for k, v in vars(vial).items()})
    header = {
        "DEA registration": row.registration,
        "Inventory": f"{row.kind}, {row.as_of} at the {args.at} of business",
        "Substance": f"{dea.substance}, Schedule {dea.schedule}",
        "Inventory id": row.id,
    }
    report = Report("Controlled-substance inventory", header, [section], ["Registrant", "Witness"])
    print(_write(report, args.format, args.out))
    print(f"recorded inventory {row.id}: {len(on_hand)} vials on hand")
    return 0


def cmd_inventory_due(args: argparse.Namespace) -> int:
    """Print when the biennial inventory falls due, and the reminder in force."""
    dea = _config(load_dea, args.dea_config)

    def work(session: Any, settings: ServerSettings, _now: float) -> Any:
        number = dea.registration(args.registration).number
        today = datetime.now(_zone(settings)).date()
        return inventory_due(session, dea, number, today), {"registration": number}

    print(f"biennial inventory {_run(args, 'dea_inventory_due', work).sentence()}")
    return 0


def cmd_export_fhir(args: argparse.Namespace) -> int:
    """Export FHIR R4 resources of what arrived in the window (audited: counts only)."""
    codes = Codes(_config(load_fhir, args.fhir_config))
    until = window_until(datetime.now(UTC), codes.settings.settle_s)
    if args.since is not None and args.since >= until:
        raise FieldAppError("--since is not before the export's end: nothing to export yet.")
    window = Window(args.since, until, args.patient)
    tally = Tally()

    def work(session: Any, _settings: ServerSettings, _now: float) -> Any:
        pairs = tally.count(resources(session, codes, window))
        try:
            if args.format == "bundle":
                write_bundles(pairs, args.out, codes, until)
            else:
                write_ndjson(pairs, args.out, until)
        except OSError as exc:
            raise FieldAppError(f"{args.out}: cannot write the export ({exc.strerror})") from None
        detail = {
            "format": args.format,
            "since": args.since.isoformat() if args.since else None,
            "until": until.isoformat(),
            "patient": args.patient,
            **tally.audit_detail(),
        }
        return None, detail

    _run(args, "fhir_export", work)
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(tally.by_type.items())) or "nothing"
    print(f"exported {counts} for {len(tally.patients)} patients to {args.out}")
    print(f"next export: --since {until.isoformat()}")
    return 0


def cmd_hold_add(args: argparse.Namespace) -> int:
    """Place a legal hold."""

    def work(session: Any, _settings: ServerSettings, now: float) -> Any:
        hold = place_hold(
            session, patient_id=args.patient, from_day=args.first, to_day=args.last,
            reason=args.reason, by=cli_actor(), now=now,
        )  # fmt: skip
        return hold, {"hold": hold.id, "patient": hold.patient_id}

    hold = _run(args, "legal_hold_place", work)
    print(f"placed legal hold {hold.id}")
    return 0


def cmd_hold_list(args: argparse.Namespace) -> int:
    """List legal holds."""

    def work(session: Any, _settings: ServerSettings, _now: float) -> Any:
        return list(list_holds(session, args.all)), {"all": args.all}

    holds = _run(args, "legal_hold_list", work)
    print(f"{'HOLD':36}  {'PATIENT':36}  {'DAYS':23}  STATE")
    for h in holds:
        days = f"{h.from_day} to {h.to_day}" if h.from_day else "any"
        state = "released" if h.released_at else "active"
        print(f"{h.id:36}  {h.patient_id or 'any':36}  {days:23}  {state}")
    return 0


def cmd_hold_release(args: argparse.Namespace) -> int:
    """Release a legal hold."""

    def work(session: Any, _settings: ServerSettings, now: float) -> Any:
        hold = release_hold(session, args.hold_id, cli_actor(), now)
        return hold, {"hold": hold.id}

    _run(args, "legal_hold_release", work)
    print(f"released legal hold {args.hold_id}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Purge what is past retention and not held; refused whole if asked for more."""
    retention = _config(load_retention, args.retention_config)
    kinds = frozenset(args.kind) if args.kind else None
    unknown = sorted((kinds or frozenset()) - set(retention.years))
    if unknown:
        raise FieldAppError(f"--kind: unknown record kind {unknown[0]!r}")
    selection = Selection(args.before, kinds, args.patient)
    settings = settings_from(args)
    today = datetime.now(_zone(settings)).date()

    def work(session: Any, settings: ServerSettings, _now: float) -> Any:
        plan = plan_purge(session, retention, selection, today, _zone(settings))
        outcome = {"held": len(plan.held), "not_due": len(plan.not_due)}
        if args.dry_run:
            return (plan, None), {"dry_run": True, "counts": plan.counts(), **outcome}
        try:
            done = execute_purge(session, plan, cli_actor(), datetime.now(UTC))
        except PurgeRefused as exc:  # nothing purged; the refusal itself is audited
            return (plan, exc), {"refused": True, **outcome}
        return (plan, done), {"purge": done.purge_id}

    plan, done = _run(args, "purge_run", work)
    if isinstance(done, PurgeRefused):
        raise FieldAppError(f"purge refused: {done}")
    counts = ", ".join(f"{n} {kind}" for kind, n in plan.counts().items()) or "nothing"
    verb = "would purge" if done is None else f"purged ({done.purge_id})"
    print(f"{verb}: {counts}")
    if plan.held:
        print(f"kept under legal hold: {len(plan.held)} records")
    return 0
