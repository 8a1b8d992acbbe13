"""Unexpected failures: answered 500 and logged without a value from the request or the rows.

SQLAlchemy is told to hide statement parameters (`make_engine`), but three more places
would still print values: PostgreSQL's DETAIL line ("Failing row contains (...)", "Key
(id)=(...)"), which psycopg puts into the exception's text; messages of other libraries
(a pydantic error quotes its input); and the ASGI server, which logs any exception that
escapes the app with its text. So every exception that escapes a route stops here: the
log gets its type, its SQLSTATE and where it was raised, never its text.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

_ANSWER = (
    b'{"error":"server_error","detail":"The server failed: the request was not done; '
    b'try again, and tell the clinic if it goes on."}'
)


def strip_values(exc: BaseException) -> bool:
    """Cut a database driver's error (and those it caused) to its primary message: the
    DETAIL and CONTEXT lines PostgreSQL sends may hold row values. True if it cut one."""
    cut = False
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        diag = getattr(current, "diag", None)
        primary = getattr(diag, "message_primary", None)
        if primary:
            current.args, cut = (primary,), True
        current = current.__cause__ or current.__context__
    return cut


def describe(exc: BaseException) -> str:
    """One line naming an exception and where it came from, without its text."""
    kinds: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(kinds) < 5:
        sqlstate = getattr(current, "sqlstate", None) or getattr(
            getattr(current, "orig", None), "sqlstate", None
        )
        kinds.append(type(current).__name__ + (f" (SQLSTATE {sqlstate})" if sqlstate else ""))
        current = current.__cause__ or current.__context__
    frames = "".join(traceback.format_tb(exc.__traceback__))  # code lines, no values
    return " <- ".join(kinds) + "\n" + frames


class UnexpectedErrors:
    """Answer 500 to anything a route did not expect, and log it without values."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            route: Any = scope.get("route")
            where = f"{scope.get('method')} {getattr(route, 'path', '?')}"
            log.error("unexpected failure in %s: %s", where, describe(exc))
            if not started:
                await _answer_500(send)


async def _answer_500(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_ANSWER)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _ANSWER})
