"""The `fieldapp` command: parse arguments, load settings, hand over to one command module.

Each command lives in `fieldapp/commands/<name>.py` and offers `register(subparsers)`,
which adds its parser and sets `handler(args) -> int`. `COMMANDS` names every command with
its module and help line, so `fieldapp --help` lists them all without importing any, and
`fieldapp plan ...` imports the plan module alone: a command never pays for the server
stack, the solvers or the terminal UI unless it uses them. Expected errors
(`FieldAppError`) print one sentence and exit 2; nothing with patient data is printed here.
A command whose extra (`fieldapp[server]`, `fieldapp[dispatch]`) is not installed says
which to install, in one line, exit 2 (see `fieldapp/extras.py`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from fieldapp.errors import FieldAppError
from fieldapp.extras import MissingExtra, extra_for, missing_extra_of

COMMANDS: dict[str, tuple[str, str]] = {
    "store": ("fieldapp.commands.store", "create, inspect, verify, re-key or wipe the store"),
    "demo-data": (
        "fieldapp.commands.demo_data",
        "write the synthetic Seattle-area demo day as JSON, or load it into a store",
    ),
    "protocol": ("fieldapp.commands.protocol", "Check the clinical protocol and its cases."),
    "plan": ("fieldapp.commands.plan", "plan a day's routes from visits.csv and clinicians.csv"),
    "server": ("fieldapp.commands.server", "run and administer the clinic server"),
    "enroll": ("fieldapp.commands.device", "enrol this laptop with the clinic server"),
    "sync": ("fieldapp.commands.device", "hand in the outbox and download the day, once"),
    "checker-code": (
        "fieldapp.commands.device",
        "a one-time code, as yourself, to type when enrolled as a colleague's second checker",
    ),
    "demo": (
        "fieldapp.commands.demo",
        "run the whole demo: server on SQLite, synthetic Seattle day, enrolled laptop, app",
    ),
    "dispatch": ("fieldapp.commands.dispatch", "plan, publish and watch the day (dispatcher)"),
    "supervisor": ("fieldapp.commands.supervisor", "review break-glass access (supervisor)"),
    "review": (
        "fieldapp.commands.review",
        "the prescriber's or supervisor's console: approvals, co-signatures, tasks",
    ),
}
"""Command name → (module that registers it, its help line in `fieldapp --help`)."""


def _import(name: str) -> ModuleType | None:
    """A command module, or None when that command is not built (installed) here."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:  # that command is not built yet; anything else is a bug
            return None
        raise


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command named on the command line (the first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser: the chosen command's module registers its real parser; every
    other command is a one-line placeholder, so its module is never imported."""
    parser = argparse.ArgumentParser(
        prog="fieldapp",
        description="Field operations for home-visit IV ketamine therapy.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = chosen_command(argv)
    wanted = COMMANDS[chosen][0] if chosen else None
    for name, (module_name, help_line) in COMMANDS.items():
        if name in subparsers.choices:
            continue  # registered with its module's other command
        if module_name == wanted:
            wanted = None
            try:
                module = _import(module_name)
            except ModuleNotFoundError as exc:  # a package of an extra that is not installed
                extra = extra_for(name, exc)
                if extra is None:
                    raise
                _register_missing(subparsers, name, extra)
                continue
            if module is not None:
                module.register(subparsers)  # all of that module's commands, for real
                continue
        extra = missing_extra_of(name)
        if extra is not None:
            help_line = f"{help_line} (needs: pip install 'fieldapp[{extra}]')"
        subparsers.add_parser(name, help=help_line, add_help=False)
    return parser


def _register_missing(subparsers: argparse._SubParsersAction, command: str, extra: str) -> None:  # type: ignore[type-arg]
    """A stand-in for a command whose extra is not installed: it says what to install."""
    parser = subparsers.add_parser(
        command,
        help=f"(needs: pip install 'fieldapp[{extra}]')",
        add_help=False,
        prefix_chars="\0",  # no options: every argument, --flags too, goes to `rest`
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER)

    def handler(_args: argparse.Namespace) -> int:
        raise MissingExtra(command, extra)

    parser.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `fieldapp` command and return its exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    handler = getattr(args, "handler", None)
    if handler is None:
        if args.command is not None:  # a command whose module is not installed here
            parser.error(f"the {args.command} command is not available in this installation")
        app_handler = _open_app_handler()
        if app_handler is None:
            parser.print_help()
            return 0
        handler = app_handler
    try:
        return int(handler(args) or 0)
    except (FieldAppError, MissingExtra) as exc:
        print(f"fieldapp: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # a command importing its extra only when it runs
        command = str(getattr(args, "command", None) or "")
        extra = extra_for(command, exc)
        if extra is None:
            raise
        print(f"fieldapp: {MissingExtra(command, extra)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fieldapp: interrupted", file=sys.stderr)
        return 130


def _open_app_handler():  # type: ignore[no-untyped-def]
    """`fieldapp` alone opens the terminal app, once it exists."""
    module = _import("fieldapp.commands.app")
    return None if module is None else module.run_app


if __name__ == "__main__":
    sys.exit(main())
