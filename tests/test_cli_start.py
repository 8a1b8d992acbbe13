"""`fieldapp` imports only what the command in hand uses.

`fieldapp --help` lists every command without importing any command module; `fieldapp plan
--help` imports the plan module alone (no numpy, geopy, solvers, server stack or Textual);
the clinician's app never imports the server or the solvers. Each check runs in a fresh
interpreter, so nothing another test imported can hide an import.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

import pytest

from fieldapp.cli import COMMANDS, main

HEAVY = (
    "numpy",
    "pandas",
    "geopy",
    "vroom",
    "pyvrp",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "sqlmodel",
    "textual",
    "httpx",
    "sync.server",
    "fieldapp.routing",
    "fieldapp.dispatch",
)


def loaded_after(code: str) -> list[str]:
    """Modules loaded by a fresh interpreter after running `code`."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def under(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m in prefixes or m.startswith(tuple(p + "." for p in prefixes))]


def help_of(argv: str) -> str:
    return (
        "from fieldapp.cli import main\n"
        "try:\n"
        f"    main({argv!r}.split())\n"
        "except SystemExit:\n"
        "    pass\n"
    )


def test_fieldapp_help_imports_no_command_module() -> None:
    modules = loaded_after(help_of("--help"))
    assert [m for m in modules if m.startswith("fieldapp.commands")] == []
    assert under(modules, HEAVY) == []


def test_fieldapp_plan_help_imports_the_plan_module_alone() -> None:
    modules = loaded_after(help_of("plan --help"))
    assert [m for m in modules if m.startswith("fieldapp.commands.")] == ["fieldapp.commands.plan"]
    assert under(modules, HEAVY) == []


def test_the_clinician_s_app_never_imports_the_server_or_the_solvers() -> None:
    modules = loaded_after(
        "import fieldapp.commands.app, fieldapp.tui.app, fieldapp.store.store, sync.client"
    )
    assert (
        under(
            modules,
            (
                "sync.server",
                "fastapi",
                "uvicorn",
                "vroom",
                "pyvrp",
                "pandas",
                "geopy",
                "fieldapp.routing",
                "fieldapp.dispatch",
            ),
        )
        == []
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_s_help_line_is_its_module_s(name: str) -> None:
    """The table `fieldapp --help` shows says what each module itself registers."""
    module_name, help_line = COMMANDS[name]
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module_name).register(subparsers)
    actions = {a.dest: a.help for a in subparsers._choices_actions}
    assert actions[name] == help_line


def test_an_unknown_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["no-such-command"])
    assert stopped.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["sync", "--help"], ["enroll", "--help"]])
def test_a_module_with_two_commands_registers_both(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 0
    assert "--store" in capsys.readouterr().out
