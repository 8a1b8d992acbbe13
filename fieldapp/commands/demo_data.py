"""`fieldapp demo-data`: the synthetic Seattle-area day, as JSON or loaded into a store."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from fieldapp.commands.passphrase import read_passphrase
from fieldapp.demo.export import dumps
from fieldapp.demo.seattle import DemoDay, demo_day
from fieldapp.errors import FieldAppError
from fieldapp.settings import load_settings
from fieldapp.store import Store
from sync.records import Record


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `demo-data` command."""
    parser = subparsers.add_parser(
        "demo-data",
        help="write the synthetic Seattle-area demo day as JSON, or load it into a store",
        description="A synthetic day (8 clinicians, 30 patients, 30 visits). No real person.",
    )
    parser.add_argument("--date", type=date.fromisoformat, default=None, help="day (default today)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--out", type=Path, default=None, help="file to write (default stdout)")
    parser.add_argument(
        "--load",
        action="store_true",
        help="load one clinician's patients and visits into the store instead of writing JSON",
    )
    parser.add_argument("--store", type=Path, default=None, help="store file (with --load)")
    parser.add_argument("--clinician", default="c01", help="whose day to load (default c01)")
    parser.set_defaults(handler=run)


def clinician_scope(day: DemoDay, clinician_id: str) -> list[Record]:
    """The server records one clinician's store holds for the day: patients, then visits."""
    visits = day.visits_for(clinician_id)
    if not visits:
        known = ", ".join(c.id for c in day.clinicians)
        raise FieldAppError(f"No clinician {clinician_id!r} in the demo day (known: {known}).")
    patient_ids = {v.patient_id for v in visits}
    patients: list[Record] = [p for p in day.patients if p.id in patient_ids]
    return patients + list(visits)


def run(args: argparse.Namespace) -> int:
    """Write the day's JSON, or load a clinician's part of it into a store."""
    day = demo_day(args.date or date.today(), seed=args.seed)
    if args.load:
        return _load(args, day)
    text = dumps(day)
    if args.out is None:
        sys.stdout.write(text + "\n")
    else:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def _load(args: argparse.Namespace, day: DemoDay) -> int:
    settings = load_settings().store
    path = args.store.expanduser() if args.store else settings.resolved_path()
    records = clinician_scope(day, args.clinician)
    passphrase = read_passphrase(
        "FIELDAPP_PASSPHRASE", "Store passphrase: ", confirm=not path.exists()
    )
    if path.exists():
        store = Store.open(path, settings)
        store.unlock(passphrase)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        store = Store.create(path, passphrase, settings)
    with store:
        count = store.put_server_records(records)
    print(f"loaded {count} records for {args.clinician} into {path}")
    return 0
