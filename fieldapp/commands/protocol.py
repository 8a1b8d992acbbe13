"""`fieldapp protocol check`: validate the protocol and checklists, then run the case files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fieldapp.clinical.cases import CaseResult, run_folder
from fieldapp.clinical.checklists import check_templates, load_templates
from fieldapp.clinical.protocol import default_protocol_path, protocol_data, protocol_from_data
from fieldapp.clinical.vocabulary import load_vocabulary
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
    cover = actions.add_parser(
        "coverage",
        help="Every rule: its settings, the app inputs that feed it, the visit cases that fire "
        "it; fails on a rule with no app input or no case.",
    )
    cover.add_argument("--config", type=Path, help="protocol file (default: config/protocol.toml)")
    cover.add_argument(
        "--cases", type=Path, help="folder of case files (default: config/protocol-cases)"
    )
    cover.set_defaults(handler=run_coverage)


def run_all(folder: Path, data: dict[str, Any], templates: dict[str, Any]) -> list[CaseResult]:
    """Every case of the folder: engine cases directly, visit cases through the services."""
    from fieldapp.services.visit_cases import VisitCaseRunner

    runner = VisitCaseRunner(data)
    try:
        return run_folder(folder, data, templates, visit=runner.run)
    finally:
        runner.close()


def _load(args: argparse.Namespace) -> tuple[Path, dict[str, Any], Any, dict[str, Any]]:
    """The protocol (validated), its raw data and the checklist templates (validated)."""
    path: Path = args.config or default_protocol_path()
    data = protocol_data(path)
    protocol = protocol_from_data(data, path)
    checklist_dir = path.parent / "checklists"
    if not checklist_dir.is_dir():
        checklist_dir = config_dir() / "checklists"
    templates = load_templates(checklist_dir)
    check_templates(templates, protocol, checklist_dir)
    vocabulary = path.parent / "vocabulary.toml"
    load_vocabulary(vocabulary if vocabulary.is_file() else None)
    return path, data, protocol, templates


def run_check(args: argparse.Namespace) -> int:
    """Validate, run every case, print one line per case and the totals; 1 on any failure."""
    path, data, protocol, templates = _load(args)
    print(f"protocol {protocol.version} ({path}): valid; {len(templates)} checklist template(s)")
    results = run_all(args.cases or config_dir() / "protocol-cases", data, templates)
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        line = f"{mark}  {result.file}: {result.name} [{result.kind}]"
        if result.problems:
            line += " -- " + "; ".join(result.problems)
        print(line)
    failed = sum(1 for result in results if not result.passed)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def run_coverage(args: argparse.Namespace) -> int:
    """Print the coverage table; 1 when a rule has no app input or no visit case."""
    from fieldapp.services import engine
    from fieldapp.services.coverage import coverage, render, summary

    _path, data, protocol, templates = _load(args)
    results = run_all(args.cases or config_dir() / "protocol-cases", data, templates)
    failed = [r for r in results if r.kind == "visit" and not r.passed]
    rows = coverage(protocol, engine.vocabulary(), results, config_dir().parent)
    for line in render(rows):
        print(line)
    totals = summary(rows)
    visits = sum(1 for r in results if r.kind == "visit")
    print(
        f"{totals['covered']} of {totals['rules']} rules fed by an app input and fired through "
        f"the app by {visits} visit cases"
        + (f"; {len(failed)} visit case(s) FAIL" if failed else "")
    )
    if totals["gaps"]:
        print(f"not covered: {', '.join(totals['gaps'])}")
    return 1 if totals["gaps"] or failed else 0
