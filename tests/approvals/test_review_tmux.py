"""The real `fieldapp review` in a real terminal (tmux), against a live clinic server: a
laptop raises a hold in the same test, the prescriber approves it with three keys and a
note, and the laptop's decision releases the hold with that signed answer.

Skipped when tmux is not installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from fieldapp.services.context import AppServices
from tests.approvals.conftest import CLINICIAN, PRESCRIBER, Clinic
from tests.approvals.test_remote_hold import held_run, pinned, raised
from tests.store.factory import FAST, PASSPHRASE
from tests.tui.test_tmux import tmux, wait_for

FIELDAPP = str(Path(sys.executable).with_name("fieldapp"))

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


async def test_the_prescriber_approves_in_the_console_and_the_laptop_goes_on(
    clinic: Clinic, services: AppServices, tmp_path: Path
) -> None:
    run = held_run(services)
    pending = await raised(clinic, run)
    store = clinic.stores[PRESCRIBER]
    path = store.path
    store.close()  # the console opens it in its own process
    env = {
        "FIELDAPP_PASSPHRASE": PASSPHRASE,
        "FIELDAPP_USER_CONFIG": str(tmp_path / "none.toml"),
        "FIELDAPP_STORE__KDF_MEMORY_KIB": str(FAST.kdf_memory_kib),
        "FIELDAPP_STORE__KDF_ITERATIONS": str(FAST.kdf_iterations),
        "FIELDAPP_STORE__KDF_LANES": str(FAST.kdf_lanes),
    }
    command = " ".join(
        ["env", *(f"{k}={v!r}" for k, v in env.items()), FIELDAPP, "review", "--store", str(path)]
    )
    name = f"review-{uuid.uuid4().hex[:8]}"
    tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "32", command)
    try:
        pane = wait_for(name, "1 pending")
        assert "bp_hold" in pane and CLINICIAN in pane and "drp (prescriber)" in pane
        tmux("send-keys", "-t", name, "a")
        wait_for(name, "Note (required)")
        tmux("send-keys", "-t", name, "-l", "Recheck BP at 10 min")
        tmux("send-keys", "-t", name, "Enter")
        wait_for(name, "signed and sent")
        wait_for(name, "0 pending")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)
    found = await clinic.client(CLINICIAN).read(pending.id, wait_s=5)
    assert found.answer is not None and found.answer.answered_by == PRESCRIBER
    assert run.apply_answer(found, pinned(clinic)).outcome == "proceed_with_flags"
    assert os.path.exists(path)
