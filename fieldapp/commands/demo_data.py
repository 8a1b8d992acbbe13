"""`fieldapp demo-data`: write the synthetic Seattle-area day as JSON, or load it into a store."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from fieldapp.demo.export import dumps
from fieldapp.demo.seattle import demo_day


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `demo-data` command."""
    parser = subparsers.add_parser(
        "demo-data",
        help="write the synthetic Seattle-area demo day as JSON",
        description="Write a synthetic day (8 clinicians, 30 patients, 30 visits). No real person.",
    )
    parser.add_argument("--date", type=date.fromisoformat, default=None, help="day (default today)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--out", type=Path, default=None, help="file to write (default stdout)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the day's JSON."""
    text = dumps(demo_day(args.date or date.today(), seed=args.seed))
    if args.out is None:
        sys.stdout.write(text + "\n")
    else:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
