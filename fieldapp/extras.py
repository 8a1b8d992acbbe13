"""The optional parts of fieldapp and the packages each brings (see pyproject.toml).

`pip install fieldapp` is the clinician's laptop: the app and the sync client. The clinic
server (`fieldapp[server]`) and the dispatcher's planner (`fieldapp[dispatch]`) are extras;
a command that needs one which is not installed says which, in one line.
"""

from __future__ import annotations

import importlib.util

EXTRAS = {
    "server": "the clinic server",
    "dispatch": "the dispatcher's planner",
}
# Import name -> the extra that installs it.
EXTRA_OF_PACKAGE = {
    "fastapi": "server",
    "starlette": "server",
    "uvicorn": "server",
    "alembic": "server",
    "psycopg": "server",
    "sqlalchemy": "server",
    "sqlmodel": "server",
    "numpy": "dispatch",
    "vroom": "dispatch",
    "pyvrp": "dispatch",
    "geopy": "dispatch",
}


# Commands that belong to an extra: a package of either extra missing under them names theirs.
COMMAND_EXTRA = {"server": "server", "demo": "server", "plan": "dispatch", "dispatch": "dispatch"}


class MissingExtra(Exception):
    """A command needs an extra that is not installed."""

    def __init__(self, command: str, extra: str) -> None:
        self.command, self.extra = command, extra
        super().__init__(
            f"`fieldapp {command}` needs {EXTRAS[extra]}, which is not installed here: "
            f"pip install 'fieldapp[{extra}]'"
        )


def extra_for(command: str, exc: ModuleNotFoundError) -> str | None:
    """The extra `command` needs, if the import failed on one of the extras' packages."""
    package = (exc.name or "").split(".")[0]
    if package not in EXTRA_OF_PACKAGE:
        return None
    return COMMAND_EXTRA.get(command, EXTRA_OF_PACKAGE[package])


def is_installed(extra: str) -> bool:
    """Whether every package of `extra` can be imported here (found, not imported)."""
    for package, owner in EXTRA_OF_PACKAGE.items():
        if owner != extra:
            continue
        try:
            if importlib.util.find_spec(package) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def missing_extra_of(command: str) -> str | None:
    """The extra `command` belongs to, when it is not installed here."""
    extra = COMMAND_EXTRA.get(command)
    return extra if extra is not None and not is_installed(extra) else None
