"""Device tokens and one-time enrollment codes (no FastAPI here).

A token is 256 random bits; the server stores only its SHA-256 (a fast hash is right for
a high-entropy secret, unlike a password). An enrollment code is a public id plus a
secret; the id finds the code so wrong secrets can be counted against it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, bindparam, select
from sqlmodel import Session, col

from sync.server.config import ServerSettings
from sync.server.errors import AuthError, EnrollFailed, NotFound
from sync.server.models import AppUser, Device, EnrollCode

if TYPE_CHECKING:
    import psycopg

TOKEN_PREFIX = "fa1_"  # noqa: S105 (a marker, not a secret)
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_ID_LEN, CODE_SECRET_LEN = 6, 12
_TOKEN_RE = re.compile(r"^fa1_[A-Za-z0-9_-]{43}$")


def sha256_hex(value: str) -> str:
    """SHA-256 of a secret, hex."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> str:
    """A fresh device token: 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def create_enroll_code(
    session: Session, user_name: str, settings: ServerSettings, now: float
) -> tuple[str, float]:
    """A new one-time code for `user_name`: (code as shown, expiry time)."""
    user = session.get(AppUser, user_name)
    if user is None or not user.active:
        raise NotFound(f"no active user {user_name!r}")
    code_id, secret = _random_code(CODE_ID_LEN), _random_code(CODE_SECRET_LEN)
    expires = now + settings.enroll_code_ttl_min * 60
    session.add(
        EnrollCode(
            id=code_id,
            user_name=user_name,
            secret_hash=sha256_hex(secret),
            created_at=now,
            expires_at=expires,
        )
    )
    return f"{code_id}-{secret[:4]}-{secret[4:8]}-{secret[8:]}", expires


def _split_code(code: str) -> tuple[str, str]:
    cleaned = re.sub(r"[^0-9A-Za-z]", "", code).upper()
    return cleaned[:CODE_ID_LEN], cleaned[CODE_ID_LEN:]


@dataclass(frozen=True)
class Enrolled:
    """A device created from a code, with its token (returned once)."""

    device: Device
    user: AppUser
    token: str


def redeem_code(
    session: Session, code: str, device_name: str, settings: ServerSettings, now: float
) -> Enrolled:
    """Turn a code into a device and a token, or raise `EnrollFailed` (tries are counted).

    The caller commits even on failure, so a wrong secret's try is kept.
    """
    code_id, secret = _split_code(code)
    row = session.get(EnrollCode, code_id) if code_id else None
    if row is None:
        raise EnrollFailed("unknown code")
    if row.used_at is not None:
        raise EnrollFailed("code already used")
    if row.tries >= settings.enroll_code_max_tries:
        raise EnrollFailed("code has no tries left")
    if now >= row.expires_at:
        raise EnrollFailed("code expired")
    if not hmac.compare_digest(row.secret_hash, sha256_hex(secret)):
        row.tries += 1
        session.add(row)
        raise EnrollFailed("wrong code")
    user = session.get(AppUser, row.user_name)
    if user is None or not user.active:
        raise EnrollFailed("user no longer active")
    row.used_at = now
    token = new_token()
    device = Device(
        id=str(uuid.uuid4()),
        user_name=user.name,
        name=device_name,
        token_hash=sha256_hex(token),
        created_at=now,
        expires_at=now + settings.token_ttl_days * 86400,
    )
    session.add(row)
    session.add(device)
    return Enrolled(device=device, user=user, token=token)


@dataclass(frozen=True)
class Caller:
    """The device and user behind a token: what every authenticated request needs."""

    device_id: str
    user: str
    role: str
    revoked: bool
    head_seq: int
    head_hash: str


# One statement on every request: the device by its token's hash, with its user.
_CALLER = (
    select(
        col(Device.id),
        col(Device.user_name),
        col(Device.revoked_at),
        col(Device.wiped_at),
        col(Device.expires_at),
        col(Device.head_seq),
        col(Device.head_hash),
        col(AppUser.role),
        col(AppUser.active),
    )
    .outerjoin(AppUser, col(AppUser.name) == col(Device.user_name))
    .where(col(Device.token_hash) == bindparam("token_hash"))
)


# The same on PostgreSQL, run on the driver's cursor: every request pays for it, and
# SQLAlchemy's statement and result machinery costs more than the statement itself.
_PG_CALLER = (
    "SELECT device.id, device.user_name, device.revoked_at, device.wiped_at,"
    " device.expires_at, device.head_seq, device.head_hash, app_user.role, app_user.active"
    " FROM device LEFT OUTER JOIN app_user ON app_user.name = device.user_name"
    " WHERE device.token_hash = %(token_hash)s"
)


def _caller_row(conn: Connection, token_hash: str) -> Any:
    if conn.dialect.name != "postgresql":
        return conn.execute(_CALLER, {"token_hash": token_hash}).first()
    raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    cursor = raw.cursor(row_factory=namedtuple_row)
    if raw.info.transaction_status != TransactionStatus.IDLE:
        return cursor.execute(_PG_CALLER, {"token_hash": token_hash}).fetchone()
    # The request's first statement: the transaction's BEGIN goes in the same round trip.
    with raw.pipeline():
        cursor.execute(_PG_CALLER, {"token_hash": token_hash})
    return cursor.fetchone()


def authenticate(
    conn: Connection, token: str | None, now: float, allow_revoked: bool = False
) -> Caller:
    """The caller behind a token, checked on every request, or `AuthError`."""
    if not token:
        raise AuthError("unauthenticated", "A device token is required.")
    if not _TOKEN_RE.match(token):
        raise AuthError("invalid_token", "The device token is not valid.")
    row = _caller_row(conn, sha256_hex(token))
    if row is None:
        raise AuthError("invalid_token", "The device token is not valid.")
    # A revoked device may still hand in its outbox and report its wipe (`allow_revoked`);
    # once it has reported the wipe, its token is dead for every route.
    if row.revoked_at is not None and (not allow_revoked or row.wiped_at is not None):
        raise AuthError(
            "device_revoked", "This device was revoked: it must wipe its store.", wipe=True
        )
    if now >= row.expires_at:
        raise AuthError("token_expired", "The device token expired: enrol the device again.")
    if row.role is None or not row.active:
        raise AuthError("user_inactive", "The user of this device is no longer active.")
    return Caller(
        device_id=row.id,
        user=row.user_name,
        role=row.role,
        revoked=row.revoked_at is not None,
        head_seq=row.head_seq,
        head_hash=row.head_hash,
    )
