"""Dispatch planning: visit requests, stored plans, publishing a day, and the live board.

Dispatchers only (every other role answers 403, audited). The planner itself runs in the
dispatcher's own fieldapp process (the server never imports `fieldapp`): the server keeps
requests and plans, applies a published plan to the visits, and reports live status from
synced check-ins. Nothing here carries a clinical field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from sync.server import audit, plans, safety_notes
from sync.server.db import transaction
from sync.server.deps import Ctx, Dispatcher, Principal
from sync.server.plan_models import (
    Board,
    PlanCreate,
    PlanPublic,
    PlanSummary,
    PublishResult,
    RequestUpload,
    VisitRequestPublic,
)
from sync.server.safety_notes import SafetyNoteCreate, SafetyNotePublic

router = APIRouter(prefix="/dispatch", tags=["dispatch"])
Day = Annotated[date, Query(alias="date", description="The day, YYYY-MM-DD.")]


def _audit(ctx: Ctx, session: Any, who: Principal, action: str, detail: dict[str, Any]) -> None:
    audit.append(
        session,
        actor=who.user,
        device_id=who.device_id,
        action=action,
        outcome="ok",
        detail=detail,
        now=ctx.clock(),
    )


@router.post("/requests", response_model=list[VisitRequestPublic])
def upload_requests(body: RequestUpload, who: Dispatcher, ctx: Ctx) -> list[VisitRequestPublic]:
    """Upload visit requests for a day (a request already uploaded is updated by its ref)."""
    with transaction(ctx.engine) as session:
        rows = plans.upload_requests(session, body, who.user, ctx.now())
        answer = [plans.request_public(session, row) for row in rows]
        _audit(ctx, session, who, "upload_requests", {"requests": [r.id for r in rows]})
        return answer


@router.get("/requests", response_model=list[VisitRequestPublic])
def list_requests(on: Day, who: Dispatcher, ctx: Ctx) -> list[VisitRequestPublic]:
    """The day's visit requests."""
    with transaction(ctx.engine) as session:
        rows = plans.list_requests(session, on)
        answer = [plans.request_public(session, row) for row in rows]
        _audit(ctx, session, who, "read_requests", {"requests": [r.id for r in rows]})
        return answer


@router.post("/requests/{visit_id}/cancel", response_model=Board)
def cancel(visit_id: UUID, who: Dispatcher, ctx: Ctx) -> Board:
    """Cancel a request or visit of the day; answers the day's board after it."""
    with transaction(ctx.engine) as session:
        plans.cancel(session, str(visit_id), ctx.now())
        day = plans.day_of(session, str(visit_id))
        answer = plans.board(session, day, ctx.settings.clinic_timezone, ctx.clock())
        _audit(ctx, session, who, "cancel_request", {"visit": str(visit_id)})
        return answer


@router.post("/plans", response_model=PlanSummary, status_code=201)
def store_plan(body: PlanCreate, who: Dispatcher, ctx: Ctx) -> PlanSummary:
    """Store a plan of a day as a draft (visit ids may be the requests' refs)."""
    with transaction(ctx.engine) as session:
        row = plans.store_plan(session, body, who.user, ctx.now())
        _audit(ctx, session, who, "store_plan", {"plan": row.id, "day": str(row.scheduled_on)})
        return plans.plan_summary(row)


@router.get("/plans", response_model=list[PlanSummary])
def list_plans(on: Day, who: Dispatcher, ctx: Ctx) -> list[PlanSummary]:
    """The day's plans, newest first."""
    with transaction(ctx.engine) as session:
        rows = plans.list_plans(session, on)
        _audit(ctx, session, who, "read_plans", {"plans": [r.id for r in rows]})
        return [plans.plan_summary(row) for row in rows]


@router.get("/plans/{plan_id}", response_model=PlanPublic)
def get_plan(plan_id: UUID, who: Dispatcher, ctx: Ctx) -> PlanPublic:
    """One plan whole, with the roster it was made for."""
    with transaction(ctx.engine) as session:
        row = plans.get_plan(session, str(plan_id))
        _audit(ctx, session, who, "read_plan", {"plan": row.id})
        return plans.plan_public(row)


@router.post("/plans/{plan_id}/publish", response_model=PublishResult)
def publish(plan_id: UUID, who: Dispatcher, ctx: Ctx) -> PublishResult:
    """Apply the plan: every planned visit is assigned as a new version each laptop pulls."""
    with transaction(ctx.engine) as session:
        result = plans.publish(
            session, str(plan_id), who.user, ctx.now(), ctx.settings.clinic_timezone
        )
        _audit(
            ctx,
            session,
            who,
            "publish_plan",
            {
                "plan": str(plan_id),
                "visits": result.created + result.changed,
                "kept_under_way": result.kept_under_way,
            },
        )
        return result


@router.get("/board", response_model=Board)
def board(on: Day, who: Dispatcher, ctx: Ctx) -> Board:
    """The day's routes with live status from synced check-ins (no clinical field)."""
    with transaction(ctx.engine) as session:
        answer = plans.board(session, on, ctx.settings.clinic_timezone, ctx.clock())
        visits = [str(v.id) for c in answer.clinicians for v in c.visits]
        visits += [str(v.id) for v in answer.unassigned]
        _audit(ctx, session, who, "read_board", {"day": str(on), "visits": visits})
        return answer


def _today(ctx: Ctx) -> date:
    return ctx.clock().astimezone(ZoneInfo(ctx.settings.clinic_timezone)).date()


@router.post("/safety-notes", response_model=SafetyNotePublic, status_code=201)
def add_safety_note(body: SafetyNoteCreate, who: Dispatcher, ctx: Ctx) -> SafetyNotePublic:
    """Record an address safety note: a category and a level, a review date, an expiry."""
    with transaction(ctx.engine) as session:
        row = safety_notes.add(session, body, who.user, ctx.now(), _today(ctx))
        _audit(ctx, session, who, "add_safety_note", {"note": row.id, "patient": row.patient_id})
        return safety_notes.public(row, _today(ctx))


@router.get("/safety-notes", response_model=list[SafetyNotePublic])
def list_safety_notes(
    who: Dispatcher, ctx: Ctx, patient: UUID | None = None
) -> list[SafetyNotePublic]:
    """Every safety note (of one patient, if given), withdrawn ones marked."""
    with transaction(ctx.engine) as session:
        rows = safety_notes.listed(session, str(patient) if patient else None)
        _audit(ctx, session, who, "read_safety_notes", {"notes": [r.id for r in rows]})
        return [safety_notes.public(row, _today(ctx)) for row in rows]


@router.post("/safety-notes/{note_id}/withdraw", response_model=SafetyNotePublic)
def withdraw_safety_note(note_id: UUID, who: Dispatcher, ctx: Ctx) -> SafetyNotePublic:
    """Withdraw a note: it no longer applies, and stays stored with who withdrew it."""
    with transaction(ctx.engine) as session:
        row = safety_notes.withdraw(session, str(note_id), who.user, ctx.now())
        _audit(ctx, session, who, "withdraw_safety_note", {"note": row.id})
        return safety_notes.public(row, _today(ctx))
