"""One-time checker codes: a colleague's proof that they enrolled as a second checker.

A colleague enrolled as the second checker on another clinician's laptop types a code the
clinic issued to *them* (from their own laptop, `POST /checkers/code`, or by an admin on
their behalf); the laptop sends it with their public key (`POST /checkers`), and the key
is filed only if the code is one the clinic issued to that same colleague, unused,
unexpired and within its tries. Without it, the laptop's owner could enrol a key "for" a
colleague and sign doses as their check.

A code is a public id plus a secret, as an enrollment code is (`sync.server.auth`): the id
finds the row, so wrong secrets count against that code. Both parts are kept only as
SHA-256 hashes, and no code appears in an audit event, a log line or an error. A used code
remembers the laptop and key it filed, so a retry of that very filing (its answer lost on
the way) is answered again rather than refused.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from sync.server import audit
from sync.server.auth import CODE_ALPHABET, sha256_hex
from sync.server.config import ServerSettings
from sync.server.errors import CheckerCodeRefused, NotFound
from sync.server.models import AppUser, CheckerCode

CHECKER_ROLES = ("clinician", "prescriber")  # who may check a dose as its second checker
CODE_ID_LEN, CODE_SECRET_LEN = 6, 8
_ASK_AGAIN = "the colleague asks the clinic for a new one (`fieldapp checker-code`)"
REFUSALS = {
    "missing": "A second checker's key is filed only with the code the clinic issued to "
    f"them: {_ASK_AGAIN}.",
    "wrong": f"That checker code is not one the clinic issued: check it, or {_ASK_AGAIN}.",
    "no_tries": f"That checker code had too many wrong tries and no longer works: {_ASK_AGAIN}.",
    "used": f"That checker code was used already: {_ASK_AGAIN}.",
    "expired": f"That checker code expired: {_ASK_AGAIN}.",
    "other_user": "That checker code was issued to someone else: each colleague types the "
    "code issued to them.",
}
"""Why a code cannot vouch for a filing, as the sentence the laptop shows (no code in it)."""


def _refused(reason: str) -> CheckerCodeRefused:
    return CheckerCodeRefused(reason, REFUSALS[reason])


def _random(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def _split(code: str) -> tuple[str, str]:
    cleaned = re.sub(r"[^0-9A-Za-z]", "", code).upper()
    return cleaned[:CODE_ID_LEN], cleaned[CODE_ID_LEN:]


def issue_checker_code(
    session: Session, user_name: str, issued_by: str, settings: ServerSettings, now: float
) -> tuple[str, float]:
    """A new one-time checker code for `user_name` (an active clinician or prescriber):
    (code as shown, expiry time). `NotFound` for anyone else."""
    user = session.get(AppUser, user_name)
    if user is None or not user.active or user.role not in CHECKER_ROLES:
        raise NotFound(f"no active clinician or prescriber {user_name!r}")
    code_id, secret = _random(CODE_ID_LEN), _random(CODE_SECRET_LEN)
    expires = now + settings.checker_code_ttl_min * 60
    session.add(
        CheckerCode(
            id_hash=sha256_hex(code_id),
            user_name=user_name,
            secret_hash=sha256_hex(secret),
            issued_by=issued_by,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return f"{code_id}-{secret[:4]}-{secret[4:]}", expires


def issue_audited(
    session: Session,
    user_name: str,
    issued_by: str,
    settings: ServerSettings,
    now: float,
    device_id: str | None = None,
    at: datetime | None = None,
) -> tuple[str, float]:
    """`issue_checker_code`, and its audit event: who asked, for whom (never the code)."""
    code, expires = issue_checker_code(session, user_name, issued_by, settings, now)
    audit.append(
        session,
        actor=issued_by,
        device_id=device_id,
        action="checker_code",
        outcome="issued",
        detail={"user": user_name},
        now=at,
    )
    return code, expires


@dataclass(frozen=True)
class Filing:
    """What a checker code vouches for: this laptop filing this colleague's key."""

    checker: str
    device_id: str
    public_key: str


def redeem_checker_code(
    session: Session, code: str | None, filing: Filing, settings: ServerSettings, now: float
) -> None:
    """Use `code` for `filing` (a code used for this very filing before passes again: a
    retry whose answer was lost). `CheckerCodeRefused` otherwise; a wrong secret or another
    colleague's code counts a try, so the caller commits even then."""
    if not code:
        raise _refused("missing")
    code_id, secret = _split(code)
    # Locked, so two filings racing with one code cannot both use it.
    row = session.get(CheckerCode, sha256_hex(code_id), with_for_update=True) if code_id else None
    if row is None:
        raise _refused("wrong")
    if row.tries >= settings.checker_code_max_tries:
        raise _refused("no_tries")
    if not hmac.compare_digest(row.secret_hash, sha256_hex(secret)):
        row.tries += 1
        session.add(row)
        raise _refused("wrong")
    if row.user_name != filing.checker:
        row.tries += 1
        session.add(row)
        raise _refused("other_user")
    if row.used_at is not None:
        if (row.used_device_id, row.used_public_key) == (filing.device_id, filing.public_key):
            return
        raise _refused("used")
    if now >= row.expires_at:
        raise _refused("expired")
    row.used_at, row.used_device_id, row.used_public_key = now, filing.device_id, filing.public_key
    session.add(row)
