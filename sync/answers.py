"""What a clinic server's answers must look like before the sync client reads them.

A hotel or clinic network's captive portal answers any address with its own page, often
with status 200, and a misconfigured proxy may answer JSON of another service. The sync
client checks each answer's shape here (the parts it reads; extra fields are welcome) and
turns a mismatch into a sentence, never a KeyError in front of the clinician.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

PUSH_STATUSES = frozenset({"applied", "duplicate", "conflict", "rejected"})


def looks_like_a_web_page(content_type: str, content: bytes) -> bool:
    """Whether an answer is an HTML page rather than the API's JSON."""
    return "html" in content_type.lower() or content[:200].lstrip().startswith(b"<")


def _push(answer: dict[str, Any]) -> bool:
    results = answer.get("results")
    return (
        isinstance(results, list)
        and all(
            isinstance(r, dict)
            and type(r.get("seq")) is int
            and r.get("status") in PUSH_STATUSES
            and isinstance(r.get("reason"), str | None)
            for r in results
        )
        and isinstance(answer.get("revoked", False), bool)
    )


def _uuid(value: Any) -> bool:
    try:
        UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def _pull(answer: dict[str, Any]) -> bool:
    upserts, removals = answer.get("upserts"), answer.get("removals")
    return (
        isinstance(upserts, list)
        and all(
            isinstance(u, dict)
            and isinstance(u.get("kind"), str)
            and isinstance(u.get("record"), dict)
            for u in upserts
        )
        and isinstance(removals, list)
        and all(
            isinstance(r, dict) and isinstance(r.get("kind"), str) and _uuid(r.get("id"))
            for r in removals
        )
        and isinstance(answer.get("cursor"), str)
        and isinstance(answer.get("more"), bool)
    )


def _enroll(answer: dict[str, Any]) -> bool:
    return all(
        isinstance(answer.get(key), str) and answer[key] for key in ("device_id", "token", "user")
    )


def _checker_code(answer: dict[str, Any]) -> bool:
    return all(isinstance(answer.get(key), str) for key in ("code", "expires_at"))


_SHAPES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "/sync/push": _push,
    "/sync/pull": _pull,
    "/enroll": _enroll,
    "/checkers/code": _checker_code,
}


def has_expected_shape(path: str, answer: Any) -> bool:
    """Whether a decoded answer to `path` holds what the client reads from it."""
    if not isinstance(answer, dict):
        return False
    check = _SHAPES.get(path)
    return check is None or check(answer)
