"""The checklist screen asks the prescriber and waits: the request goes to a live clinic,
the prescriber answers from their own enrolled store, the dialog closes with the answer
and the screen shows PROCEED; the submission carries the signed answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from textual.widgets import Static

from fieldapp.services.context import AppServices
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.approval import RemoteApprovalDialog
from fieldapp.tui.screens.checklist import ChecklistScreen
from sync.approvals import draft_answer
from sync.client import SyncClient
from sync.ports import SyncReport
from sync.records import ChecklistSubmission
from tests.approvals.conftest import PRESCRIBER, Clinic
from tests.approvals.test_remote_hold import HELD
from tests.tui.helpers import fill, settle
from tests.tui.test_visit import SIZE, session, to_checklist


class ApprovalsOnly(SyncClient):
    """The laptop's connection to the clinic, without the day's push and pull: this
    clinic has none of the demo day's visits, and a pull would empty today's list. (Sync
    itself is tested in tests/sync.)"""

    async def sync_once(self) -> SyncReport:
        return SyncReport()


async def test_the_checklist_waits_for_the_prescribers_signed_answer(
    clinic: Clinic, services: AppServices, store: Store, settings: Any, clock: Any
) -> None:
    store.lock()  # the app unlocks it, as on the road
    sync = ApprovalsOnly(clinic.http, store, settings.sync)
    app = FieldApp(store, settings, sync=sync, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, HELD)
        assert "HOLD" in str(app.screen.query_one("#decision-banner", Static).render())
        await pilot.press("ctrl+a")
        await pilot.pause()  # not settle: the dialog's worker waits until the answer comes
        assert isinstance(app.screen, RemoteApprovalDialog)
        queue: list[Any] = []
        for _ in range(100):  # the request reaches the queue once the dialog has sent it
            queue = await clinic.client(PRESCRIBER).queue()
            if queue:
                break
            await asyncio.sleep(0.05)
        (item,) = queue
        prescriber = clinic.stores[PRESCRIBER]
        answer = prescriber.sign_answer(
            draft_answer(
                item,
                "approve",
                "Recheck BP at 10 min.",
                PRESCRIBER,
                datetime.now(UTC),
                prescriber.signing_public_key(),
            )
        )
        await clinic.client(PRESCRIBER).answer(answer)
        for _ in range(400):  # the waiting read returns once the answer is in
            if not isinstance(app.screen, RemoteApprovalDialog):
                break
            await asyncio.sleep(0.05)
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        assert "PROCEED" in str(app.screen.query_one("#decision-banner", Static).render())
        s = session(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        submitted = s.last(ChecklistSubmission)
        assert submitted is not None and submitted.approval is not None
        assert submitted.approval.prescriber == PRESCRIBER
        assert submitted.approval.answer == answer
    assert app.boundary.caught == []
