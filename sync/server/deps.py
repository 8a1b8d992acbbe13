"""FastAPI dependencies: the app context, the caller behind a token, role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from sync.server import audit, ratelimit, refusals
from sync.server.auth import Caller, authenticate
from sync.server.config import ServerSettings
from sync.server.db import transaction
from sync.server.errors import AuthError
from sync.server.refusals import Limit, Refusal

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class AppContext:
    """What every request needs: settings, the engine and the clock (injectable in tests)."""

    settings: ServerSettings
    engine: Engine
    clock: Clock
    held: refusals.Held = field(default_factory=refusals.Held)

    def now(self) -> float:
        """Server time as UTC epoch seconds."""
        return self.clock().timestamp()

    def today(self) -> date:
        """The clinic's today, by the server's clock in the clinic's zone."""
        return self.clock().astimezone(ZoneInfo(self.settings.clinic_timezone)).date()

    def wait_for_token(self, bucket: str, per_minute: float, burst: int) -> float | None:
        """Take one token from a rate-limit bucket: None if allowed, else seconds to wait."""
        return ratelimit.take(self.engine, bucket, per_minute, burst, self.now())

    def refuse(self, refusal: Refusal) -> float | None:
        """Count a refused request (audited once a window per source): None while the
        source is within its rate limit, else seconds it must wait (a source held after a
        429 is answered from memory, see `refusals.Held`)."""
        now = self.clock()
        at = now.timestamp()
        left = self.held.count_if_held(refusal, at)
        if left is not None:
            return left
        earlier = self.held.release(refusal.source)
        try:
            wait = refusals.record(self.engine, refusal, now, self.window_s, earlier)
        except BaseException:
            self.held.restore({refusal.source: earlier})
            raise
        if wait is not None:
            self.held.hold(refusal.source, at + wait)
        return wait

    def summarise_refusals(self) -> int:
        """Audit the summaries of closed refusal windows (this worker's held counts too)."""
        return refusals.summarise_closed(self.engine, self.clock(), self.window_s, self.held)

    @property
    def window_s(self) -> float:
        """The refusal audit window."""
        return self.settings.rate_limits.refusal_audit_window_s

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


def limit_attempts(
    ctx: AppContext, request: Request, action: str, per_minute: float, burst: int, says: str
) -> None:
    """Take one of this address's `action` attempts: over its limit, a 429 that says `says`
    (counted, not audited one by one: the first of a window is, the rest in a summary)."""
    client = client_key(request)
    wait = ctx.wait_for_token(f"{action}:{client}", per_minute, burst)
    if wait is not None:
        ctx.refuse(Refusal(action=action, outcome="rate_limited", client=client))
        raise HTTPException(
            429,
            {"error": "rate_limited", "detail": says},
            headers={"Retry-After": str(int(wait))},
        )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class Credentials:
    """A request's bearer token and what its refusal would be audited and limited by."""

    token: str | None
    client: str
    path: str
    method: str


def credentials_of(request: Request) -> Credentials:
    """The request's token, not yet checked."""
    return Credentials(_bearer(request), client_key(request), request.url.path, request.method)


async def credentials(request: Request) -> Credentials:
    """The token as a dependency (async: reading a header needs no thread)."""
    return credentials_of(request)


Token = Annotated[Credentials, Depends(credentials)]


@contextmanager
def caller_transaction(
    ctx: AppContext,
    creds: Credentials,
    *,
    allow_revoked: bool = False,
    roles: Collection[str] = (),
) -> Iterator[tuple[Session, Principal]]:
    """One transaction for a whole request, its caller authenticated first inside it.

    The busiest routes (push, pull) so take one connection, not one to authenticate and
    another to work. A refusal (`refused`, `forbidden_role`) is counted and audited once
    this transaction has ended: on SQLite it holds the only write lock.
    """
    failure: AuthError | None = None
    with transaction(ctx.engine) as session:
        try:
            principal = authenticate(session.connection(), creds.token, ctx.now(), allow_revoked)
        except AuthError as exc:
            failure = exc
        else:
            if not roles or principal.role in roles:
                yield session, principal
                return
    if failure is not None:
        raise refused(ctx, creds, failure) from None
    raise forbidden_role(ctx, principal, creds.path, creds.method)


def refused(ctx: AppContext, creds: Credentials, exc: AuthError) -> Exception:
    """A failed authentication, counted against the client (audited at once if it is the
    first from that client in the window, else in the window's summary): the exception to
    raise, 429 once the client is over its limit."""
    limits = ctx.settings.rate_limits
    wait = ctx.refuse(
        Refusal(
            action="auth_failed",
            outcome=exc.code,
            client=creds.client,
            limit=Limit(
                f"authfail:{creds.client}",
                limits.auth_failures_per_minute,
                limits.auth_failures_burst,
            ),
            detail={"path": creds.path, "method": creds.method},
        )
    )
    if wait is not None:
        return HTTPException(
            429,
            {"error": "rate_limited", "detail": "Too many failed attempts: wait and retry."},
            headers={"Retry-After": str(int(wait))},
        )
    return exc


def forbidden_role(ctx: AppContext, principal: Principal, path: str, method: str) -> HTTPException:
    """A caller whose role may not use this route, audited: the 403 to raise."""
    ctx.audit(
        actor=principal.user,
        device_id=principal.device_id,
        action="forbidden",
        outcome="role",
        detail={"path": path, "method": method},
    )
    return HTTPException(403, {"error": "forbidden", "detail": "Your role may not do this."})


def _authenticate(request: Request, ctx: AppContext, allow_revoked: bool) -> Principal:
    creds = credentials_of(request)
    try:
        with ctx.engine.connect() as conn:
            return authenticate(conn, creds.token, ctx.now(), allow_revoked)
    except AuthError as exc:
        raise refused(ctx, creds, exc) from None


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
            raise await run_in_threadpool(
                forbidden_role, ctx, principal, request.url.path, request.method
            )
        return principal

    return check


Clinician = Annotated[Principal, Depends(require_role("clinician"))]
Dispatcher = Annotated[Principal, Depends(require_role("dispatcher"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
Supervisor = Annotated[Principal, Depends(require_role("supervisor"))]
