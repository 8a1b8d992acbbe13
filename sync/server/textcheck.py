"""Text a database cannot store is refused with 422 naming the field, on every route.

PostgreSQL cannot store NUL (U+0000) in any text or JSON column, and no database can store
a lone surrogate (U+D800 to U+DFFF, which has no UTF-8 form): either one used to reach the
driver and answer 500. One app-wide dependency checks every request before its route runs:

- path and query parameters: any control character (C0, DEL, C1) or lone surrogate. Ids,
  names and filters never hold one, and these values go into audit rows and logs;
- the JSON body: NUL or a lone surrogate in any string or key. Tabs and line breaks stay
  allowed (notes have them).

Pushed records are the exception (`OPAQUE_BODY`): each is judged by the record schemas,
which refuse the same text, so a bad record is set aside alone, naming its field, and the
rest of the batch still lands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

MESSAGE = "must not contain control characters (NUL included) or invalid text"
ERROR_TYPE = "unstorable_text"

# A path or query value: C0 controls, DEL, C1 controls, surrogates.
_BAD_PARAM = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# A body string (already decoded from JSON): NUL and surrogates only.
_BAD_BODY = re.compile("[\x00\ud800-\udfff]")
# In the raw JSON bytes: the escapes that decode to one of those (a raw control byte is
# invalid JSON already). A valid surrogate pair also matches; the walk then finds nothing.
_BODY_HINT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")

# Where a route's body holds what is judged item by item, not by this check: a pushed
# record's kind and payload (a bad one is set aside alone; see `sync.server.push`).
OPAQUE_BODY: dict[str, tuple[tuple[str, ...], ...]] = {
    "/sync/push": (("items", "*", "kind"), ("items", "*", "payload")),
}


def _problem(loc: tuple[Any, ...]) -> dict[str, Any]:
    return {"loc": loc, "msg": MESSAGE, "type": ERROR_TYPE}


def unstorable_params(request: Request) -> list[dict[str, Any]]:
    """A problem for each path or query parameter holding a character no field may."""
    problems = [
        _problem(("path", name))
        for name, value in request.path_params.items()
        if isinstance(value, str) and _BAD_PARAM.search(value)
    ]
    problems += [
        _problem(("query", name))
        for name, value in request.query_params.multi_items()
        if _BAD_PARAM.search(name) or _BAD_PARAM.search(value)
    ]
    return problems


def _walk(
    value: Any, loc: tuple[Any, ...], skip: tuple[tuple[str, ...], ...]
) -> Iterator[tuple[Any, ...]]:
    """The location of every string (or key) in a JSON value that holds unstorable text."""
    if any(_matches(loc[1:], pattern) for pattern in skip):
        return
    if isinstance(value, str):
        if _BAD_BODY.search(value):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if _BAD_BODY.search(key):
                yield (*loc, key)
            else:
                yield from _walk(item, (*loc, key), skip)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index), skip)


def _matches(path: tuple[Any, ...], pattern: tuple[str, ...]) -> bool:
    return len(path) == len(pattern) and all(
        want in ("*", got) for got, want in zip(path, pattern, strict=True)
    )


def unstorable_body(raw: bytes, route_path: str) -> list[dict[str, Any]]:
    """A problem for each string of a JSON body holding NUL or a lone surrogate.

    The raw bytes are searched first (a fast scan in C); only a body that may hold such
    text is parsed again and walked.
    """
    if not raw or not _BODY_HINT.search(raw):
        return []
    try:
        document = json.loads(raw)
    except ValueError:
        return []  # not JSON: the route's own parsing answers it
    skip = OPAQUE_BODY.get(route_path, ())
    return [_problem(loc) for loc in _walk(document, ("body",), skip)]


async def refuse_unstorable_text(request: Request) -> None:
    """App-wide dependency: 422 naming each field whose text cannot be stored."""
    problems = unstorable_params(request)
    if request.method in ("POST", "PUT", "PATCH"):
        route = request.scope.get("route")
        problems += unstorable_body(await request.body(), getattr(route, "path", ""))
    if problems:
        raise RequestValidationError(problems)
