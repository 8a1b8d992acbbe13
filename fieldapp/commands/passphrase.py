"""The passphrase for headless commands: from an environment variable or a prompt."""

from __future__ import annotations

import getpass
import os
import sys

from fieldapp.errors import StoreError


def read_passphrase(variable: str, prompt: str, *, confirm: bool = False) -> str:
    """`variable` if set, else a hidden prompt (asked twice with `confirm`)."""
    value = os.environ.get(variable)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise StoreError(f"No passphrase: set {variable} or run this in a terminal.")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != first:
        raise StoreError("The two passphrases differ: nothing was changed.")
    return first
