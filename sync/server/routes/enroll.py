"""`POST /enroll` (a one-time code for a device token) and `GET /me`."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from sync.server import audit
from sync.server.auth import redeem_code
from sync.server.db import transaction
from sync.server.deps import Ctx, CurrentPrincipal, limit_attempts
from sync.server.duress import issue_key
from sync.server.errors import EnrollFailed
from sync.server.manifests import manifest_key
from sync.server.schemas import EnrollRequest, EnrollResponse, Me
from sync.server.signatures import keep_signing_key

router = APIRouter(tags=["enrollment"])


@router.post("/enroll", response_model=EnrollResponse)
def enroll(body: EnrollRequest, request: Request, ctx: Ctx) -> EnrollResponse:
    """Redeem a one-time code; the token is shown once and stored only as a hash."""
    limits = ctx.settings.rate_limits
    limit_attempts(
        ctx,
        request,
        "enroll",
        limits.enroll_per_minute,
        limits.enroll_burst,
        "Too many enrollment attempts: wait and retry.",
    )
    failure: EnrollFailed | None = None
    with transaction(ctx.engine) as session:
        try:
            enrolled = redeem_code(session, body.code, body.device_name, ctx.settings, ctx.now())
        except EnrollFailed as exc:
            failure = exc
            audit.append(
                session,
                actor="-",
                action="enroll",
                outcome="failed",
                detail={"reason": str(exc)},
                now=ctx.clock(),
            )
        else:
            duress_token = (
                issue_key(session, enrolled.device.id, enrolled.user.name, ctx.now())
                if enrolled.user.role == "clinician"
                else None
            )
            if body.signing_key is not None:
                keep_signing_key(
                    session, enrolled.device.id, enrolled.user.name, body.signing_key, ctx.now()
                )
            audit.append(
                session,
                actor=enrolled.user.name,
                device_id=enrolled.device.id,
                action="enroll",
                outcome="ok",
                now=ctx.clock(),
            )
            public_key = manifest_key(session.connection())
    if failure is not None:
        raise failure
    return EnrollResponse(
        device_id=enrolled.device.id,
        token=enrolled.token,
        user=enrolled.user.name,
        role=enrolled.user.role,  # type: ignore[arg-type]
        expires_at=datetime.fromtimestamp(enrolled.device.expires_at, UTC),
        server_time=ctx.clock(),
        manifest_key=public_key,
        duress_token=duress_token,
    )


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal, ctx: Ctx) -> Me:
    """Who this token belongs to."""
    return Me(
        user=principal.user,
        role=principal.role,  # type: ignore[arg-type]
        device_id=principal.device_id,
        server_time=ctx.clock(),
    )
