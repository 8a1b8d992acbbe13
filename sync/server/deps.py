"""FastAPI dependencies: the app context, the caller behind a token, role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from sync.server import audit, ratelimit
from sync.server.auth import Caller, authenticate
from sync.server.config import ServerSettings
from sync.server.db import transaction
from sync.server.errors import AuthError

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class AppContext:
    """What every request needs: settings, the engine and the clock (injectable in tests)."""

    settings: ServerSettings
    engine: Engine
    clock: Clock

    def now(self) -> float:
        """Server time as UTC epoch seconds."""
        return self.clock().timestamp()

    def today(self) -> date:
        """The clinic's today, by the server's clock in the clinic's zone."""
        return self.clock().astimezone(ZoneInfo(self.settings.clinic_timezone)).date()

    def audit(self, **fields: Any) -> None:
        """Write one audit event in its own transaction (failures, refusals)."""
        with transaction(self.engine) as session:
            audit.append(session, now=self.clock(), commit=True, **fields)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


async def get_ctx(request: Request) -> AppContext:
    """The context `create_app` stored on the app (async: no thread hop for a lookup)."""
    return request.app.state.ctx  # type: ignore[no-any-return]


Ctx = Annotated[AppContext, Depends(get_ctx)]


Principal = Caller  # the authenticated caller: device, user and role


def client_key(request: Request) -> str:
    """The caller's address, the key of its rate-limit buckets."""
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate(request: Request, ctx: AppContext, allow_revoked: bool) -> Principal:
    try:
        with ctx.engine.connect() as conn:
            return authenticate(conn, _bearer(request), ctx.now(), allow_revoked)
    except AuthError as exc:
        limits = ctx.settings.rate_limits
        wait = ratelimit.take(
            ctx.engine,
            f"authfail:{client_key(request)}",
            limits.auth_failures_per_minute,
            limits.auth_failures_burst,
            ctx.now(),
        )
        ctx.audit(
            actor="-",
            action="auth_failed",
            outcome=exc.code,
            detail={"path": request.url.path, "method": request.method},
        )
        if wait is not None:
            raise HTTPException(
                429,
                {"error": "rate_limited", "detail": "Too many failed attempts: wait and retry."},
                headers={"Retry-After": str(int(wait))},
            ) from None
        raise


def current_principal(request: Request, ctx: Ctx) -> Principal:
    """The caller; a revoked device is refused (401, told to wipe)."""
    return _authenticate(request, ctx, allow_revoked=False)


def principal_even_revoked(request: Request, ctx: Ctx) -> Principal:
    """The caller, even from a revoked device (to hand in its outbox, report its wipe)."""
    return _authenticate(request, ctx, allow_revoked=True)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AnyPrincipal = Annotated[Principal, Depends(principal_even_revoked)]


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency letting only these roles through (403 for the rest, audited)."""

    # Async: letting a caller through is a comparison, not worth a hop to the thread pool
    # (where each request would queue once more under load); a refusal is audited there.
    async def check(principal: CurrentPrincipal, ctx: Ctx, request: Request) -> Principal:
        if principal.role not in roles:
            await run_in_threadpool(
                ctx.audit,
                actor=principal.user,
                device_id=principal.device_id,
                action="forbidden",
                outcome="role",
                detail={"path": request.url.path, "method": request.method},
            )
            raise HTTPException(403, {"error": "forbidden", "detail": "Your role may not do this."})
        return principal

    return check


Clinician = Annotated[Principal, Depends(require_role("clinician"))]
Dispatcher = Annotated[Principal, Depends(require_role("dispatcher"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
