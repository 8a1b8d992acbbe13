"""The demo's recorded day keeps its signatures at the clinic: its prescriber and
supervisor are people the demo server enrolled (`fieldapp.demo.clinic`), its second
checker a colleague whose key the laptop files at its sync, so every answer and check the
pushed records carry passes the clinic's checks and nothing is set aside. The same day
signed by a clinic made up on the laptop would be set aside (see
`tests/approvals/test_pushed_signatures.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fieldapp.demo.clinic import DEMO_SUPERVISOR
from fieldapp.demo.recorded import SECOND_CHECKER
from sync.server.db import transaction
from sync.server.models import AuditEvent, CheckerKey, DeviceRecordRow
from tests.sync.recorded import recorded_demo_day


def stored(app: Any, kind: str) -> list[dict[str, Any]]:
    """Every stored record of a kind, as the server holds it."""
    with transaction(app.state.ctx.engine) as session:
        rows = session.execute(
            select(DeviceRecordRow.payload).where(DeviceRecordRow.kind == kind)  # type: ignore[arg-type]
        ).scalars()
        return [json.loads(row) for row in rows]


async def test_the_recorded_days_answers_and_checks_pass_the_clinics_checks(
    app: Any, api: Any, tmp_path: Path
) -> None:
    laptops = await recorded_demo_day(app, api, tmp_path)
    assert all(laptop.store.set_aside() == [] for laptop in laptops)
    orders = stored(app, "dose_order")
    assert orders and all(o["checker_signature"]["checker"] == SECOND_CHECKER for o in orders)
    (ruling,) = [e["ruling"] for e in stored(app, "substance") if e["event"] == "resolution"]
    assert ruling["answered_by"] == DEMO_SUPERVISOR[0] and ruling["role"] == "supervisor"
    with transaction(app.state.ctx.engine) as session:
        checkers = session.execute(select(CheckerKey.checker, CheckerKey.filed_by)).all()  # type: ignore[call-overload]
        refused = session.execute(
            select(AuditEvent.outcome).where(AuditEvent.action == "pushed_signature")  # type: ignore[arg-type]
        ).all()
    assert sorted(checkers) == [(SECOND_CHECKER, "c01"), (SECOND_CHECKER, "c02")]
    assert refused == []
