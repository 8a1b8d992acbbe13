"""The real `fieldapp` in a real terminal (tmux): unlock, today's list, a check-in, and
the whole checklist typed with no pause between keys.

Skipped when tmux is not installed. The store is made with a low (test-only) KDF through
`FIELDAPP_STORE__KDF_*` and loaded with `fieldapp demo-data --load`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp.services.checklist import items
from fieldapp.settings import StoreSettings
from fieldapp.store.store import Store
from tests.services.scenario import GOOD_CHECKLIST

PASSPHRASE = "tmux test passphrase"
FIELDAPP = str(Path(sys.executable).with_name("fieldapp"))
WAIT_S = 30.0

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str) -> str:
    """Run a tmux command and return its output."""
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True)
    return done.stdout


def wait_for(session: str, text: str) -> str:
    """The pane once it shows `text` (fails with the pane's content after a long wait)."""
    deadline = time.monotonic() + WAIT_S
    pane = ""
    while time.monotonic() < deadline:
        pane = tmux("capture-pane", "-p", "-t", session)
        if text in pane:
            return pane
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the pane shows:\n{pane}")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Settings through the environment only: a temp store with a test-only KDF."""
    values = {
        "FIELDAPP_STORE": str(tmp_path / "c01.store"),
        "FIELDAPP_USER_CONFIG": str(tmp_path / "none.toml"),
        "FIELDAPP_STORE__KDF_MEMORY_KIB": "19456",
        "FIELDAPP_STORE__KDF_ITERATIONS": "2",
        "FIELDAPP_STORE__KDF_LANES": "1",
        "FIELDAPP_STORE__USER": "c01",
    }
    loaded = subprocess.run(
        [FIELDAPP, "demo-data", "--load", "--store", values["FIELDAPP_STORE"]],
        env={**os.environ, **values, "FIELDAPP_PASSPHRASE": PASSPHRASE},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "loaded" in loaded.stdout
    return values


@pytest.fixture
def session(env: dict[str, str]) -> Iterator[str]:
    """`fieldapp` running in a detached 100×32 tmux session."""
    name = f"fieldapp-{uuid.uuid4().hex[:8]}"
    command = " ".join(["env", *(f"{k}={v}" for k, v in env.items()), FIELDAPP])
    tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "32", command)
    try:
        yield name
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)


def test_unlock_and_check_in_in_a_real_terminal(session: str) -> None:
    wait_for(session, "Enter the passphrase")
    tmux("send-keys", "-t", session, "-l", PASSPHRASE)
    tmux("send-keys", "-t", session, "Enter")
    wait_for(session, "visits · 0 done")
    # Each part of the screen paints when it is ready: wait for each, never assume.
    wait_for(session, "scheduled")
    wait_for(session, "Sync:")
    tmux("send-keys", "-t", session, "Enter")
    wait_for(session, "· Check-in")
    tmux("send-keys", "-t", session, "C-r")
    wait_for(session, "En route recorded")
    tmux("send-keys", "-t", session, "Space")  # the attestation has the focus
    tmux("send-keys", "-t", session, "C-s")
    wait_for(session, "· Safety checklist")
    wait_for(session, "on visit")  # the lone-worker timer started at the check-in
    tmux("send-keys", "-t", session, "Escape")
    wait_for(session, "arrived")


def to_checklist(session: str) -> None:
    """Unlock, open the first visit, check in: the checklist is on screen."""
    wait_for(session, "Enter the passphrase")
    tmux("send-keys", "-t", session, "-l", PASSPHRASE)
    tmux("send-keys", "-t", session, "Enter")
    wait_for(session, "visits · 0 done")
    wait_for(session, "scheduled")
    tmux("send-keys", "-t", session, "Enter")
    wait_for(session, "· Check-in")
    tmux("send-keys", "-t", session, "C-r")
    wait_for(session, "En route recorded")
    tmux("send-keys", "-t", session, "Space")
    tmux("send-keys", "-t", session, "C-s")
    wait_for(session, "· Safety checklist")


def test_fast_typing_puts_every_answer_in_its_own_field(session: str, env: dict[str, str]) -> None:
    to_checklist(session)
    keys: list[str] = []
    for item in items():  # the form's order: each answer, then Tab to the next field
        answer = GOOD_CHECKLIST.get(item.id, "")
        assert " " not in answer
        keys += [*answer, "Tab"]
    # One send-keys: tmux writes every key at once, faster than any hand types.
    tmux("send-keys", "-t", session, *keys)
    typed = read_checklist_draft(Path(env["FIELDAPP_STORE"]), until=GOOD_CHECKLIST)
    assert {k: v for k, v in typed.items() if v} == GOOD_CHECKLIST


def read_checklist_draft(path: Path, until: dict[str, str]) -> dict[str, str]:
    """The checklist draft the running app saves as it is typed (read from the store by a
    second process), once it holds `until` or after a long wait."""
    store = Store.open(path, StoreSettings(user="c01"))
    try:
        store.unlock(PASSPHRASE)
        deadline = time.monotonic() + WAIT_S
        typed: dict[str, str] = {}
        while time.monotonic() < deadline:
            keys = [key for key in store.list_drafts() if key.startswith("checklist:")]
            typed = (store.load_draft(keys[0]) or {}) if keys else {}
            if {k: v for k, v in typed.items() if v} == until:
                break
            time.sleep(0.2)
        return typed
    finally:
        store.close()
