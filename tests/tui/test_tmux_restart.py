"""The real `fieldapp` killed with SIGKILL mid-infusion and mid-recovery, then started again:
the visit, the lone-worker timer, vitals due and the recovery watch are all still there.

Skipped when tmux is not installed. The visit is brought to the infusion step through the
services (check-in, checklist, dose), then the app in tmux does the rest.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from fieldapp.services.clock import today
from fieldapp.services.context import AppServices
from fieldapp.services.infusion import compute, confirm_dose, last_visit_weight
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from sync.records import ChecklistSubmission
from tests.services.scenario import dose_form
from tests.tui.conftest import CHECKER, CHECKER_PIN
from tests.tui.test_tmux import FIELDAPP, PASSPHRASE, env, tmux, wait_for

__all__ = ["env"]  # the fixture, used by name

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def seed_to_infusion(env: dict[str, str]) -> list[str]:
    """Check in to the first visit, pass the checklist, confirm the dose; return the day's
    patient names (none may show on the lock screen)."""
    settings = Settings.model_validate(
        {
            "store": {
                "path": env["FIELDAPP_STORE"],
                "user": "c01",
                "kdf_memory_kib": 19456,
                "kdf_iterations": 2,
                "kdf_lanes": 1,
            }
        }
    )
    store = Store.open(Path(env["FIELDAPP_STORE"]), settings.store)
    try:
        store.unlock(PASSPHRASE)
        services = AppServices(store, settings)
        services.opened()
        from fieldapp.services.visit import VisitSession

        visits = sorted(
            store.visits_for_day(today(services.clock)),
            key=lambda v: (v.route_order or 999, v.window_start),
        )
        session = VisitSession.load(services, visits[0].id)
        session.en_route()
        session.arrive(None, None, attested=True)
        session.save(
            session.new(
                ChecklistSubmission, template="pre_visit_safety@2", answers={}, decision="proceed"
            )
        )
        services.ledger.carry("V-RESTART", Decimal(10), Decimal(20), "LOT-RESTART")
        store.enrol_checker(CHECKER, CHECKER_PIN)  # the colleague who checks this dose
        # The demo's patient of the day changes with the date: weighed as at their last
        # visit, so the dose is never held for a weight change.
        form = dose_form(weight=str(last_visit_weight(session) or 105))
        confirm_dose(session, form, compute(form), CHECKER, "V-RESTART", CHECKER_PIN)
        names = []
        for visit in visits:
            patient = store.patient(visit.patient_id)
            assert patient is not None
            names.append(patient.display_name)
        return names
    finally:
        store.close()


class Fieldapp:
    """`fieldapp` in a detached 100×32 tmux session, which can be killed and started again."""

    def __init__(self, env: dict[str, str]) -> None:
        self.command = " ".join(["env", *(f"{k}={v}" for k, v in env.items()), FIELDAPP])
        self.name = ""

    def start(self) -> None:
        """A new session running the app, up to the passphrase."""
        self.name = f"fieldapp-{uuid.uuid4().hex[:8]}"
        tmux("new-session", "-d", "-s", self.name, "-x", "100", "-y", "32", self.command)

    def kill_9(self) -> None:
        """SIGKILL the app's process: no drafts flushed, no goodbye."""
        pid = int(tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").strip())
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Kill the session if it is still there."""
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)

    def type(self, *keys: str, literal: bool = False) -> None:
        """Keys into the app."""
        tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def unlock(self) -> None:
        """The passphrase, then Enter."""
        wait_for(self.name, "Enter the passphrase")
        self.type(PASSPHRASE, literal=True)
        self.type("Enter")

    def wait(self, text: str) -> str:
        """The pane once it shows `text`."""
        return wait_for(self.name, text)


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[Fieldapp]:
    """The app, not yet started."""
    running = Fieldapp(env)
    yield running
    running.stop()


def test_timers_survive_a_kill_9(env: dict[str, str], app: Fieldapp) -> None:
    names = seed_to_infusion(env)
    app.start()
    app.unlock()
    app.wait("Not started")  # the visit in progress opened by itself, at the infusion
    app.type("C-t")
    app.wait("next BP")
    app.wait("on visit")
    app.kill_9()
    app.start()
    app.unlock()
    pane = app.wait("next BP")  # still infusing, vitals due worked out from the record
    assert "Started" in pane  # the start's clock time and the minutes since
    app.wait("on visit")  # the lone-worker timer, not "not on a visit"
    app.type("C-l")
    pane = app.wait("Vitals due in")
    assert "Infusion running" in pane and "on visit" in pane
    assert [name for name in names if name in pane] == []
    app.type(PASSPHRASE, literal=True)
    app.type("Enter")
    app.wait("next BP")
    app.type("C-n")
    app.wait("observed")  # the recovery watch
    app.kill_9()
    app.start()
    app.unlock()
    pane = app.wait("observed")
    assert "Ended " in pane and "min" in pane
    app.wait("on visit")
