"""What the office-side commands share (`fieldapp dispatch`, `fieldapp supervisor`): the
clinic server to talk to, the token an enrolment left on this computer, and keeping it.

Each command names its role once in an `OfficeRole`; its error class carries the sentences.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from fieldapp.errors import FieldAppError
from fieldapp.settings import APP_NAME
from sync.client import SyncError, check_server_url


@dataclass(frozen=True)
class OfficeRole:
    """One office role's command: its name, where its token lives, its error."""

    role: str  # the server's role name: "dispatcher", "supervisor"
    command: str  # the CLI command: "dispatch", "supervisor"
    token_env: str
    error: type[FieldAppError]

    def default_token_file(self) -> Path:
        """Where `<command> enroll` keeps the token (the user's config folder)."""
        return Path(platformdirs.user_config_dir(APP_NAME)) / f"{self.command}-token"

    def add_server_args(self, parser: argparse.ArgumentParser) -> None:
        """--server and --token-file, as every subcommand takes them."""
        parser.add_argument(
            "--server",
            default=os.environ.get("FIELDAPP_SERVER_URL"),
            help="the clinic server (https://, or http:// on this machine)",
        )
        parser.add_argument(
            "--token-file", type=Path, default=None, help=f"token file (else ${self.token_env})"
        )

    def server(self, args: argparse.Namespace) -> str:
        """The server's address, checked (https, or http only to this machine)."""
        if not args.server:
            raise self.error("Give the server with --server (or FIELDAPP_SERVER_URL).")
        try:
            return check_server_url(args.server)
        except SyncError as exc:
            raise self.error(str(exc)) from None

    def read_token(self, token_file: Path | None, environ: Mapping[str, str] | None = None) -> str:
        """The token: the file given, the environment, or the file an enrolment left."""
        env = os.environ if environ is None else environ
        if token_file is None and env.get(self.token_env):
            return env[self.token_env].strip()
        path = token_file or self.default_token_file()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError:
            raise self.error(
                f"No {self.command} token at {path}: run `fieldapp {self.command} enroll`, "
                f"or give --token-file or {self.token_env}."
            ) from None
        if not token:
            raise self.error(f"The token file {path} is empty: enrol again.")
        return token

    def keep_token(self, path: Path, enrolled: Mapping[str, str]) -> None:
        """Keep an enrolment's token in a file only this user can read, and say so."""
        if enrolled.get("role") != self.role:
            raise self.error(f"That code belongs to a user who is not a {self.role}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(enrolled["token"] + "\n")
        print(f"Enrolled as {enrolled['user']} ({self.role}); token kept in {path}.")
