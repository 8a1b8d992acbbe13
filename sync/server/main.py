"""The clinic server app, built by `create_app(settings)` (nothing is created at import time).

Stateless: everything a request needs is in the database, so any number of workers can
serve one PostgreSQL. Errors answer `{"error": code, "detail": sentence}`; a revoked
device's answer also carries `"wipe": true`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.server import errors
from sync.server.config import ServerSettings
from sync.server.db import make_engine
from sync.server.deps import AppContext, Clock, utc_now
from sync.server.faults import UnexpectedErrors
from sync.server.routes import (
    admin,
    approvals,
    break_glass,
    clinical,
    dispatch,
    duress,
    enroll,
    fhir,
    health,
    patients,
    plans,
    sync,
    visits,
)
from sync.server.schemas import ErrorBody
from sync.server.textcheck import refuse_unstorable_text

log = logging.getLogger(__name__)

STATUS = {
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.Invalid: 422,
    errors.AuthError: 401,
    errors.EnrollFailed: 400,
    errors.CheckerCodeRefused: 403,
    errors.StoreRolledBack: 409,
    errors.HeadMismatch: 409,
    errors.CursorExpired: 410,
}
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 410, 413, 429)
}


class BodyLimit:
    """Refuse request bodies over the limit with 413 before the app reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _BodyTooLarge(self.limit)
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(self.limit)(scope, receive, send)


class _BodyTooLarge(HTTPException):
    """Raised while a body without Content-Length is read (chunked): FastAPI turns any
    other failure of reading the body into 400, but lets an HTTP exception through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_body(limit))


def _too_large_body(limit: int) -> dict[str, str]:
    return {"error": "body_too_large", "detail": f"The request is over {limit} bytes: send less."}


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(_too_large_body(limit), status_code=413)


def _lifespan(ctx: AppContext) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Size the worker's thread pool, where every blocking handler and dependency runs, and
    open a first database connection, so the first requests after a start do not wait for
    the driver's setup (a database that does not answer yet is left to /health to report).
    Then set aside what the start made from the garbage collector's walks, and summarise
    closed refusal windows once a window while the worker runs.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        total = ctx.settings.threads_per_worker
        anyio.to_thread.current_default_thread_limiter().total_tokens = total
        try:
            await anyio.to_thread.run_sync(_connect_once, ctx.engine)
        except SQLAlchemyError:
            log.warning("the database does not answer yet; serving anyway")
        # Everything made so far lives as long as the worker: the collector need not walk
        # it again on every full collection (a request makes thousands of short-lived objects).
        gc.freeze()
        sweeper = asyncio.create_task(_summarise_refusals(ctx))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            with contextlib.suppress(SQLAlchemyError):  # hand over what this worker held
                await anyio.to_thread.run_sync(ctx.summarise_refusals)

    return lifespan


async def _summarise_refusals(ctx: AppContext) -> None:
    """Once a window, audit the summaries of refusal windows that have closed."""
    while True:
        await asyncio.sleep(ctx.window_s)
        try:
            await anyio.to_thread.run_sync(ctx.summarise_refusals)
        except SQLAlchemyError:
            log.warning("refusal summaries not written (the database did not answer)")


def _connect_once(engine: Engine) -> None:
    with engine.connect():
        pass


def create_app(settings: ServerSettings, clock: Clock | None = None) -> FastAPI:
    """A new server app over the configured database."""
    ctx = AppContext(settings=settings, engine=make_engine(settings), clock=clock or utc_now)
    app = FastAPI(
        lifespan=_lifespan(ctx),
        title="fieldapp clinic server",
        version="1",
        description="Enrollment, two-way sync, dispatch and audit for field clinicians.",
        # Before any route's own dependencies (authentication included): text that no
        # database can store is refused before it reaches one.
        dependencies=[Depends(refuse_unstorable_text)],
    )
    app.state.ctx = ctx
    for module in (
        health,
        enroll,
        sync,
        duress,
        visits,
        patients,
        dispatch,
        plans,
        admin,
        clinical,
        fhir,
        break_glass,
        approvals,
    ):
        app.include_router(module.router, responses=COMMON_RESPONSES)

    @app.exception_handler(errors.ServerError)
    async def _domain_error(_request: Request, exc: errors.ServerError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        if isinstance(exc, errors.Invalid):  # the same shape as FastAPI's own 422 answers
            return JSONResponse(
                {"detail": [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]},
                status_code=422,
            )
        body: dict[str, Any] = {"error": exc.code, "detail": str(exc)}
        if isinstance(exc, errors.AuthError) and exc.wipe:
            body["wipe"] = True
        if isinstance(exc, errors.HeadMismatch):
            body["head"] = exc.head
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"error": "http", "detail": str(exc.detail)}
        )
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own shape, without the submitted values (they may be patient data).
        detail = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(UnexpectedErrors)  # outside the rest: whatever escapes, logged bare
    return app
