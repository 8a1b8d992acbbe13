"""Remote approvals over HTTP.

A clinician's laptop: `POST /approvals` raises a request, `GET /approvals/{id}?wait=s`
reads it (holding the request open up to `wait` seconds, capped by the
`approvals.long_poll_max_s` setting, until it is answered), `POST /approvals/{id}/refused`
reports an answer the laptop refused, `POST /checkers` files a second checker's public
key with the one-time code the clinic issued to that checker (a push then checks that
checker's signatures under it). A clinician or prescriber: `POST /checkers/code` issues
a code for themselves, to type on the laptop they enrol on. A prescriber or supervisor:
`GET /review/queue` (their queue, overdue first; filters `kind` and `status`),
`GET /review/requests/{id}`, `POST /review/requests/{id}/answer` with the signed answer.
Every refusal is audited.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
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
from sync.server.checker_codes import CHECKER_ROLES, Filing, issue_audited
from sync.server.db import transaction
from sync.server.deps import Ctx, Token, caller_transaction, limit_attempts
from sync.server.errors import CheckerCodeRefused, ServerError
from sync.server.pushed_signatures import file_checker_key
from sync.server.schemas import Body, CheckerCodePublic

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
    """A second checker enrolled on this laptop: their clinic user name, public key and
    the one-time code the clinic issued to them (required: refused 403 without it)."""

    checker: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    public_key: Key
    code: Annotated[str, StringConstraints(max_length=64)] | None = None


class CheckerKeyFiled(Body):
    """The key as filed; `new` is false when it was filed before."""

    checker: str
    public_key: str
    new: bool


@router.post("/checkers", response_model=CheckerKeyFiled)
def file_checker(body: CheckerKeyIn, request: Request, creds: Token, ctx: Ctx) -> CheckerKeyFiled:
    """File a second checker's key for this laptop, bound to their clinic user and vouched
    for by the one-time code the clinic issued to them (audited, refusals too: 404 no such
    active colleague, 422 the clinician themselves, 403 `checker_code_<reason>` a code
    missing, wrong, used, expired, out of tries or issued to someone else; 429 too many
    filings from one address)."""
    limits = ctx.settings.rate_limits
    limit_attempts(
        ctx,
        request,
        "checker_key",
        limits.checker_filing_per_minute,
        limits.checker_filing_burst,
        "Too many checker filings: wait and retry.",
    )
    # The code itself is never audited: only whether one came.
    detail = {"checker": body.checker, "public_key": body.public_key, "code": bool(body.code)}
    refusal: ServerError | None = None
    with caller_transaction(ctx, creds, roles=("clinician",)) as (session, caller):
        filing = Filing(body.checker, caller.device_id, body.public_key)
        try:
            new = file_checker_key(session, caller, filing, body.code, ctx.settings, ctx.now())
        except ServerError as exc:  # nothing filed; a wrong code's try is kept
            refusal = exc
            reason = exc.reason if isinstance(exc, CheckerCodeRefused) else exc.code
            outcome = f"refused_{reason}"
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


@router.post("/checkers/code", response_model=CheckerCodePublic, status_code=201)
def checker_code(creds: Token, ctx: Ctx) -> CheckerCodePublic:
    """A one-time code for the caller to type when they are enrolled as a second checker on
    a colleague's laptop (single use, `checker_code_ttl_min`; shown once, kept as a hash)."""
    with caller_transaction(ctx, creds, roles=CHECKER_ROLES) as (session, caller):
        code, expires = issue_audited(
            session,
            caller.user,
            caller.user,
            ctx.settings,
            ctx.now(),
            caller.device_id,
            ctx.clock(),
        )
    return CheckerCodePublic(
        user=caller.user, code=code, expires_at=datetime.fromtimestamp(expires, UTC)
    )


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
