"""`POST /duress` (a duress credential posts a duress signal) and `POST /duress/key`.

`/duress` is the one route a duress credential opens, and it does one thing; see
`sync/server/duress.py` for why that credential lives outside the laptop's encrypted
store. `/duress/key` lets an enrolled clinician's laptop get a new credential with its
device token (a laptop enrolled before duress credentials existed, or one whose file was
lost).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from sync.server import audit, duress
from sync.server.db import transaction
from sync.server.deps import Ctx, Token, caller_transaction, client_key, refused
from sync.server.errors import AuthError
from sync.server.schemas import DuressAck, DuressKeyPublic, DuressSignalIn

router = APIRouter(tags=["duress"])


@router.post("/duress", response_model=DuressAck)
def post_duress(body: DuressSignalIn, request: Request, creds: Token, ctx: Ctx) -> DuressAck:
    """A clinician calls for help: stored as a duress status event, audited."""
    limits = ctx.settings.rate_limits
    wait = ctx.wait_for_token(
        f"duress:{client_key(request)}", limits.duress_per_minute, limits.duress_burst
    )
    if wait is not None:
        ctx.audit(actor="-", action="duress", outcome="rate_limited")
        raise HTTPException(
            429,
            {"error": "rate_limited", "detail": "Too many duress signals: retry shortly."},
            headers={"Retry-After": str(int(wait))},
        )
    failure: AuthError | None = None
    with transaction(ctx.engine) as session:
        try:
            caller = duress.authenticate(session, creds.token)
        except AuthError as exc:
            failure = exc
        else:
            status = duress.record_signal(session, caller, body.id, body.at, ctx.clock())
            audit.append(
                session,
                actor=caller.user,
                device_id=caller.device_id,
                action="duress",
                outcome=status,
                detail={"signal": str(body.id)},
                now=ctx.clock(),
            )
    if failure is not None:
        raise refused(ctx, creds, failure)
    return DuressAck(status=status)


@router.post("/duress/key", response_model=DuressKeyPublic)
def new_duress_key(creds: Token, ctx: Ctx) -> DuressKeyPublic:
    """A new duress credential for the calling clinician's laptop (replaces its last)."""
    with caller_transaction(ctx, creds, roles=("clinician",)) as (session, principal):
        token = duress.issue_key(session, principal.device_id, principal.user, ctx.now())
        audit.append(
            session,
            actor=principal.user,
            device_id=principal.device_id,
            action="duress_key",
            outcome="issued",
            now=ctx.clock(),
        )
    return DuressKeyPublic(duress_token=token)
