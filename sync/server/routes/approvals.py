"""Remote approvals over HTTP.

A clinician's laptop: `POST /approvals` raises a request, `GET /approvals/{id}?wait=s`
reads it (holding the request open up to `wait` seconds, capped by the
`approvals.long_poll_max_s` setting, until it is answered), `POST /approvals/{id}/refused`
reports an answer the laptop refused, `POST /checkers` files a second checker's public
key (a push then checks that checker's signatures under it). A prescriber or supervisor:
`GET /review/queue` (their queue, overdue first; filters `kind` and `status`),
`GET /review/requests/{id}`, `POST /review/requests/{id}/answer` with the signed answer.
Every refusal is audited.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from sync.approvals import (
    Answer,
    ApprovalKind,
    ApprovalRequestIn,
    Key,
    RefusalReason,
    RequestPublic,
    ReviewTask,
)
from sync.server import approvals, audit
from sync.server.board_tasks import role_tasks
from sync.server.db import transaction
from sync.server.deps import Ctx, Token, caller_transaction
from sync.server.errors import ServerError
from sync.server.pushed_signatures import file_checker_key
from sync.server.schemas import Body

router = APIRouter(tags=["approvals"])
ANSWERERS = ("prescriber", "supervisor")
POLL_STEP_S = 0.25  # how often a held request looks for its answer


class RefusalReport(Body):
    """Why the laptop would not apply an answer the clinic handed it."""

    reason: RefusalReason


@router.post("/approvals", response_model=RequestPublic, status_code=201)
def raise_request(body: ApprovalRequestIn, creds: Token, ctx: Ctx) -> RequestPublic:
    """Queue a request for the role that may answer it (the same id again: the same one)."""
    with caller_transaction(ctx, creds, roles=("clinician",)) as (session, caller):
        given = body.given_at.timestamp() if body.given_at else None
        row = approvals.raise_request(session, caller, body, ctx.settings, ctx.now(), given)
        answer = approvals.public(session, row, ctx.now())
        audit.append(
            session,
            actor=caller.user,
            device_id=caller.device_id,
            action="approval_request",
            outcome="raised",
            detail={"request": row.id, "kind": row.kind},
            now=ctx.clock(),
        )
    return answer


def _read_own(ctx: Ctx, creds: Token, request_id: str) -> RequestPublic:
    with caller_transaction(ctx, creds, roles=("clinician",)) as (session, caller):
        row = approvals.own_request(session, caller, request_id)
        return approvals.public(session, row, ctx.now())


@router.get("/approvals/{request_id}", response_model=RequestPublic)
async def read_request(
    request_id: str,
    creds: Token,
    ctx: Ctx,
    wait: Annotated[float, Query(ge=0, le=600)] = 0,
) -> RequestPublic:
    """The caller's own request; with `wait`, held open until it is answered or expires."""
    until = time.monotonic() + min(wait, ctx.settings.approvals.long_poll_max_s)
    while True:
        found = await run_in_threadpool(_read_own, ctx, creds, request_id)
        if found.status != "pending" or time.monotonic() >= until:
            return found
        await asyncio.sleep(POLL_STEP_S)


@router.post("/approvals/{request_id}/refused", status_code=204)
def report_refusal(request_id: str, body: RefusalReport, creds: Token, ctx: Ctx) -> None:
    """The laptop refused the answer it was handed: audited for the clinic to look into."""
    with caller_transaction(ctx, creds, roles=("clinician",)) as (session, caller):
        row = approvals.own_request(session, caller, request_id)
        audit.append(
            session,
            actor=caller.user,
            device_id=caller.device_id,
            action="approval_answer",
            outcome=f"refused_{body.reason}",
            detail={"request": row.id, "by": "laptop"},
            now=ctx.clock(),
        )


class CheckerKeyIn(Body):
    """A second checker enrolled on this laptop: their clinic user name and public key."""

    checker: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    public_key: Key


class CheckerKeyFiled(Body):
    """The key as filed; `new` is false when it was filed before."""

    checker: str
    public_key: str
    new: bool


@router.post("/checkers", response_model=CheckerKeyFiled)
def file_checker(body: CheckerKeyIn, creds: Token, ctx: Ctx) -> CheckerKeyFiled:
    """File a second checker's key for this laptop, bound to their clinic user (audited,
    refusals too: 404 no such active colleague, 422 the clinician themselves)."""
    detail = {"checker": body.checker, "public_key": body.public_key}
    refusal: ServerError | None = None
    with caller_transaction(ctx, creds, roles=("clinician",)) as (session, caller):
        try:
            new = file_checker_key(session, caller, body.checker, body.public_key, ctx.now())
        except ServerError as exc:  # raised before anything is written
            refusal = exc
            outcome = f"refused_{exc.code}"
        else:
            outcome = "filed" if new else "filed_before"
        audit.append(
            session,
            actor=caller.user,
            device_id=caller.device_id,
            action="checker_key",
            outcome=outcome,
            detail=detail,
            now=ctx.clock(),
        )
    if refusal is not None:
        raise refusal
    return CheckerKeyFiled(checker=body.checker, public_key=body.public_key, new=new)


@router.get("/review/queue", response_model=list[RequestPublic])
def review_queue(
    creds: Token,
    ctx: Ctx,
    kind: ApprovalKind | None = None,
    status: Literal["pending", "answered", "all"] = "pending",
) -> list[RequestPublic]:
    """The caller's queue (their role's requests; a supervisor also gets telephone orders
    past their co-sign deadline), overdue first."""
    with caller_transaction(ctx, creds, roles=ANSWERERS) as (session, caller):
        rows = approvals.queue(session, caller, ctx.now(), kind, status)
        found = [approvals.public(session, row, ctx.now()) for row in rows]
        audit.append(
            session,
            actor=caller.user,
            device_id=caller.device_id,
            action="review_queue",
            outcome="read",
            detail={"count": len(found)},
            now=ctx.clock(),
        )
    return found


@router.get("/review/tasks", response_model=list[ReviewTask])
def review_tasks(creds: Token, ctx: Ctx) -> list[ReviewTask]:
    """The follow-up tasks the protocol engine gave the caller's role (action, visit id,
    due time, state; never the reason), overdue first."""
    with caller_transaction(ctx, creds, roles=ANSWERERS) as (session, caller):
        found = role_tasks(session, caller.role, ctx.clock())
        audit.append(
            session,
            actor=caller.user,
            device_id=caller.device_id,
            action="review_tasks",
            outcome="read",
            detail={"count": len(found)},
            now=ctx.clock(),
        )
    return found


@router.get("/review/requests/{request_id}", response_model=RequestPublic)
def review_request(request_id: str, creds: Token, ctx: Ctx) -> RequestPublic:
    """One request in the caller's reach."""
    with caller_transaction(ctx, creds, roles=ANSWERERS) as (session, caller):
        row = approvals.for_answerer(session, caller, request_id, ctx.now())
        return approvals.public(session, row, ctx.now())


@router.post("/review/requests/{request_id}/answer", response_model=RequestPublic)
def answer_request(request_id: str, body: Answer, creds: Token, ctx: Ctx) -> RequestPublic:
    """Keep a signed answer; a forged, replayed, expired or wrong-role one is refused and
    audited."""
    refusal: approvals.AnswerRejected | None = None
    with caller_transaction(ctx, creds, roles=ANSWERERS) as (session, caller):
        try:
            row = approvals.record_answer(session, caller, request_id, body, ctx.now())
        except approvals.AnswerRejected as exc:
            refusal = exc
        else:
            found = approvals.public(session, row, ctx.now())
            audit.append(
                session,
                actor=caller.user,
                device_id=caller.device_id,
                action="approval_answer",
                outcome=body.decision,
                detail={"request": row.id, "kind": row.kind},
                now=ctx.clock(),
            )
            return found
    assert refusal is not None
    with transaction(ctx.engine) as session:
        audit.append(
            session,
            actor=caller.user,
            device_id=caller.device_id,
            action="approval_answer",
            outcome=f"refused_{refusal.reason}",
            detail={"request": request_id, "by": "server"},
            now=ctx.clock(),
        )
    raise HTTPException(
        approvals.STATUS_FOR[refusal.reason], {"error": refusal.code, "detail": str(refusal)}
    )
