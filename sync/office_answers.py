"""The clinic server's answers as the office-side clients read them (the dispatcher's board
and commands, the prescriber's and supervisor's console, the laptop's approval calls).

Each refusal becomes one of `sync.client`'s errors with a sentence the person can act on;
the sentences that differ by who is calling come in a `Refusals`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from sync.client import AuthFailed, RateLimited, ServerRejected, ServerUnreachable


@dataclass(frozen=True)
class Refusals:
    """What a 401, 403 and 404 mean to this caller, and who refused the rest."""

    unauthorised: str
    forbidden: str
    not_found: str
    refuser: str = "server"
    """Named in "The server refused this (422): …"."""


def retry_after(response: httpx.Response) -> float:
    """Seconds the server asked us to wait (1 when it named none we can read)."""
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


def detail_of(response: httpx.Response) -> str:
    """The server's sentence: `detail` as text, or the first validation message."""
    try:
        body = response.json()
    except ValueError:
        return ""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
        return f"{where}: {first.get('msg', '')}".strip(": ")
    return str(detail or "")


def answer_of(response: httpx.Response, refusals: Refusals) -> Any:
    """The JSON of a 2xx answer, or our error for any other."""
    status = response.status_code
    if 200 <= status < 300:
        return response.json() if response.content else None
    if status == 401:
        raise AuthFailed(refusals.unauthorised)
    if status == 403:
        raise ServerRejected(refusals.forbidden)
    if status == 404:
        raise ServerRejected(refusals.not_found)
    if status in (429, 503):
        raise RateLimited(retry_after(response))
    if status >= 500:
        raise ServerUnreachable("The server had a problem: try again in a moment.")
    detail = detail_of(response)
    said = f"The {refusals.refuser} refused this ({status})"
    raise ServerRejected(f"{said}: {detail}." if detail else f"Refused ({status}).")
