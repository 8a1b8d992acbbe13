"""The `fieldapp` command: parse arguments, load settings, hand over to one command module.

Each command lives in `fieldapp/commands/<name>.py` and offers `register(subparsers)`,
which adds its parser and sets `handler(args) -> int`. Expected errors (`FieldAppError`)
print one sentence and exit 2; nothing with patient data is ever printed here. A command
whose extra (`fieldapp[server]`, `fieldapp[dispatch]`) is not installed says which to
install, in one line, exit 2 (see `fieldapp/extras.py`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from fieldapp.errors import FieldAppError
from fieldapp.extras import MissingExtra, extra_for

COMMAND_MODULES = (
    "fieldapp.commands.store",
    "fieldapp.commands.demo_data",
    "fieldapp.commands.protocol",
    "fieldapp.commands.plan",
    "fieldapp.commands.server",
    "fieldapp.commands.device",
    "fieldapp.commands.demo",
    "fieldapp.commands.dispatch",
)


def build_parser() -> argparse.ArgumentParser:
    """The whole argument parser, with every command module that is installed."""
    parser = argparse.ArgumentParser(
        prog="fieldapp",
        description="Field operations for home-visit IV ketamine therapy.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command is not built yet; anything else is a bug
                continue
            command = name.rsplit(".", 1)[-1].replace("_", "-")
            extra = extra_for(command, exc)
            if extra is None:
                raise
            _register_missing(subparsers, command, extra)
            continue
        module.register(subparsers)
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
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
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
    try:
        module = importlib.import_module("fieldapp.commands.app")
    except ModuleNotFoundError as exc:
        if exc.name == "fieldapp.commands.app":
            return None
        raise
    return module.run_app


if __name__ == "__main__":
    sys.exit(main())
