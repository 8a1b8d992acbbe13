"""`fieldapp protocol check`: validate the protocol and checklists, then run the case files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fieldapp.clinical.cases import run_folder
from fieldapp.clinical.checklists import check_templates, load_templates
from fieldapp.clinical.protocol import default_protocol_path, protocol_data, protocol_from_data
from fieldapp.config import config_dir


def register(subparsers: Any) -> None:
    """Add `protocol check` to the `fieldapp` command."""
    parser = subparsers.add_parser("protocol", help="Check the clinical protocol and its cases.")
    actions = parser.add_subparsers(dest="protocol_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="Validate protocol.toml and the checklists, then run the case files."
    )
    check.add_argument("--config", type=Path, help="protocol file (default: config/protocol.toml)")
    check.add_argument(
        "--cases", type=Path, help="folder of case files (default: config/protocol-cases)"
    )
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Validate, run every case, print one line per case and the totals; 1 on any failure."""
    path: Path = args.config or default_protocol_path()
    data = protocol_data(path)
    protocol = protocol_from_data(data, path)
    checklist_dir = path.parent / "checklists"
    if not checklist_dir.is_dir():
        checklist_dir = config_dir() / "checklists"
    templates = load_templates(checklist_dir)
    check_templates(templates, protocol, checklist_dir)
    print(f"protocol {protocol.version} ({path}): valid; {len(templates)} checklist template(s)")
    results = run_folder(args.cases or config_dir() / "protocol-cases", data, templates)
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        line = f"{mark}  {result.file}: {result.name} [{result.kind}]"
        if result.problems:
            line += " -- " + "; ".join(result.problems)
        print(line)
    failed = sum(1 for result in results if not result.passed)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0
