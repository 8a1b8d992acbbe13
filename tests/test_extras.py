"""The laptop installs only what it runs: with the server's and the planner's packages absent
(as after `pip install fieldapp`), the app, the store, the protocol check and sync still
load, and a command that needs an extra says which to install, in one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fieldapp.extras import EXTRA_OF_PACKAGE

ROOT = Path(__file__).resolve().parents[1]
# A Python whose extras' packages cannot be imported, running the given code.
PRELUDE = textwrap.dedent(
    f"""
    import importlib.abc, sys
    BLOCKED = {sorted(EXTRA_OF_PACKAGE)!r}

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    """
)


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_laptops_part_loads_without_any_extra(tmp_path: Path) -> None:
    done = _run(
        """
        import fieldapp.tui.app, fieldapp.commands.app, fieldapp.commands.device
        import fieldapp.commands.store, fieldapp.commands.protocol, sync.client
        from fieldapp.cli import main
        assert main(["protocol", "check"]) == 0
        loaded = sorted({m.split(".")[0] for m in sys.modules} & set(BLOCKED))
        print("loaded:", loaded)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stdout and "passed, 0 failed" in done.stdout


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["server", "migrate"], "server"),
        (["server", "run", "--workers", "2"], "server"),
        (["demo", "--no-app"], "server"),
        (["plan", "--visits", "v.csv", "--clinicians", "c.csv"], "dispatch"),
        (["dispatch", "board"], "dispatch"),
    ],
)
def test_a_command_needing_an_extra_says_which(tmp_path: Path, argv: list[str], extra: str) -> None:
    done = _run(f"from fieldapp.cli import main\nsys.exit(main({argv!r}))", tmp_path)
    assert done.returncode == 2
    assert done.stderr.endswith(f"pip install 'fieldapp[{extra}]'\n")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"`fieldapp {argv[0]}` needs" in done.stderr


def test_help_lists_every_command_even_without_extras(tmp_path: Path) -> None:
    done = _run("from fieldapp.cli import main\nsys.exit(main(['--help']))", tmp_path)
    assert done.returncode == 0, done.stderr
    for command in ("store", "enroll", "sync", "server", "plan", "dispatch", "demo"):
        assert command in done.stdout
    assert "fieldapp[server]" in done.stdout
