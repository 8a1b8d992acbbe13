"""Tasks for people off the laptop (prescriber, supervisor), as the dispatch board shows them.

A visit's decisions start tasks on the laptop; those owned by someone off it reach the
clinic with the visit's other records. The board shows each by its action, owner, due time
and state (open, overdue, done), never its text or the clinical reason behind it: the
dispatcher sees who must do what by when, not why (CLINICAL.md §5, minimum necessary).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from sync.approvals import ReviewTask
from sync.server.models import ApprovalRequestRow, DeviceRecordRow
from sync.server.plan_models import BoardTask

OFF_DEVICE = frozenset({"prescriber", "supervisor"})


def visit_tasks(
    session: Session, visit_ids: Iterable[str], now: datetime
) -> dict[str, list[BoardTask]]:
    """Off-device tasks of each visit with their state now, oldest first."""
    ids = sorted(set(visit_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(DeviceRecordRow.kind, DeviceRecordRow.visit_id, DeviceRecordRow.payload).where(
            col(DeviceRecordRow.kind).in_(("task", "task_update")),
            col(DeviceRecordRow.visit_id).in_(ids),
        )
    ).all()
    tasks: dict[str, tuple[str, dict[str, object]]] = {}
    states: dict[str, set[str]] = {}
    for kind, visit_id, payload in rows:
        data = json.loads(payload)
        if kind == "task" and data.get("owner") in OFF_DEVICE:
            tasks[data["id"]] = (str(visit_id), data)
        elif kind == "task_update":
            states.setdefault(data["task_id"], set()).add(data["status"])
    found: dict[str, list[BoardTask]] = {}
    for task_id, (visit_id, data) in tasks.items():
        due = datetime.fromisoformat(str(data["due_at"])) if data.get("due_at") else None
        seen = states.get(task_id, set())
        late = "overdue" in seen or (due is not None and due < now)
        state = "done" if "done" in seen else "overdue" if late else "open"
        found.setdefault(visit_id, []).append(
            BoardTask(action=str(data["action"]), owner=str(data["owner"]), due_at=due, state=state)
        )
    for visit_id, task in cosign_tasks(session, ids, now):
        found.setdefault(visit_id, []).append(task)
    for listed in found.values():
        listed.sort(key=lambda t: (t.due_at is None, t.due_at or now))
    return found


def cosign_tasks(
    session: Session, visit_ids: list[str], now: datetime
) -> list[tuple[str, BoardTask]]:
    """Each telephone order's co-signature as a task: the prescriber's until its deadline,
    then (unsigned) the supervisor's, overdue (`approvals.cosign_deadline_hours`)."""
    rows = session.exec(
        select(ApprovalRequestRow).where(
            col(ApprovalRequestRow.kind) == "verbal_order",
            col(ApprovalRequestRow.visit_id).in_(visit_ids),
        )
    ).all()
    found = []
    for row in rows:
        due = datetime.fromtimestamp(row.expires_at, UTC)
        late = row.answer is None and due <= now
        state = "done" if row.answer is not None else "overdue" if late else "open"
        owner = "supervisor" if late else "prescriber"
        task = BoardTask(action="cosign_telephone_order", owner=owner, due_at=due, state=state)
        found.append((str(row.visit_id), task))
    return found


def role_tasks(session: Session, role: str, now: datetime) -> list[ReviewTask]:
    """Every task the protocol engine gave `role` (prescriber or supervisor), overdue
    first, then by due time; done ones last."""
    rows = session.exec(
        select(DeviceRecordRow.kind, DeviceRecordRow.visit_id, DeviceRecordRow.payload).where(
            col(DeviceRecordRow.kind).in_(("task", "task_update"))
        )
    ).all()
    tasks: dict[str, tuple[str | None, dict[str, object]]] = {}
    states: dict[str, set[str]] = {}
    for kind, visit_id, payload in rows:
        data = json.loads(payload)
        if kind == "task" and data.get("owner") == role:
            tasks[str(data["id"])] = (visit_id, data)
        elif kind == "task_update":
            states.setdefault(str(data["task_id"]), set()).add(str(data["status"]))
    found = []
    for task_id, (visit_id, data) in tasks.items():
        due = datetime.fromisoformat(str(data["due_at"])) if data.get("due_at") else None
        seen = states.get(task_id, set())
        late = "overdue" in seen or (due is not None and due < now)
        state = "done" if "done" in seen else "overdue" if late else "open"
        found.append(
            ReviewTask(
                id=task_id,  # type: ignore[arg-type]
                action=str(data["action"]),
                owner=role,  # type: ignore[arg-type]
                visit_id=visit_id,  # type: ignore[arg-type]
                due_at=due,
                state=state,  # type: ignore[arg-type]
            )
        )
    rank = {"overdue": 0, "open": 1, "done": 2}
    return sorted(found, key=lambda t: (rank[t.state], t.due_at is None, t.due_at or now))
