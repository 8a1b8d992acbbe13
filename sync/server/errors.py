"""Domain errors raised by `crud`, `auth`, `push` and `pull`; routes turn them into HTTP.

    ServerError
    ├── NotFound          no such object within the caller's reach (404, never 403: no leak)
    ├── Forbidden         the caller's role may not do this (403)
    ├── Invalid           a well-formed request that makes no sense here (422)
    ├── AuthError         missing, malformed, expired or revoked token (401)
    ├── EnrollFailed      a code that is unknown, used, expired or out of tries (400)
    ├── CheckerCodeRefused  a checker code missing, wrong, used, expired, out of tries or
    │                     issued to someone else (403, its `code` names which)
    ├── StoreRolledBack   the device's chain head is behind what it already sent (409)
    ├── HeadMismatch      the device must send again from the server's head (409, with it)
    │   ├── PushGap       a push that does not continue from the server's head
    │   └── ServerBehind  the server holds less than it once confirmed: restored from a backup
    └── CursorExpired     a cursor this server no longer honours: start again (410)

Messages name ids and fields only, never patient data.
"""

from __future__ import annotations


class ServerError(Exception):
    """Base of the server's domain errors."""

    code = "error"


class NotFound(ServerError):
    """No such object among those the caller may reach."""

    code = "not_found"


class Forbidden(ServerError):
    """The caller's role does not allow this."""

    code = "forbidden"


class Invalid(ServerError):
    """The request is well formed but refers to something that makes it impossible."""

    code = "invalid"


class AuthError(ServerError):
    """The token is missing, malformed, unknown, expired or revoked."""

    def __init__(self, code: str, message: str, wipe: bool = False) -> None:
        self.code = code
        self.wipe = wipe
        super().__init__(message)


class EnrollFailed(ServerError):
    """The enrollment code cannot be used."""

    code = "enroll_failed"


class CheckerCodeRefused(ServerError):
    """A second checker's one-time code cannot vouch for this filing; `code` names why
    (`checker_code_wrong`, `_used`, `_expired`, `_no_tries`, `_other_user`, `_missing`)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.code = f"checker_code_{reason}"
        super().__init__(message)


class StoreRolledBack(ServerError):
    """The device store is older than what it already sent: restored from an old copy."""

    code = "store_rolled_back"


class HeadMismatch(ServerError):
    """The device and the server disagree on what the server holds: the answer carries the
    server's head for that device, and the device sends again everything above it."""

    code = "head_mismatch"

    def __init__(self, message: str, seq: int, chain_hash: str) -> None:
        self.head = {"seq": seq, "chain_hash": chain_hash}
        super().__init__(message)


class PushGap(HeadMismatch):
    """A push that does not continue from the server's head for the device (a gap)."""

    code = "push_gap"


class ServerBehind(HeadMismatch):
    """The device was confirmed more than the server now holds: the server lost records."""

    code = "server_behind"


class CursorExpired(ServerError):
    """The pull cursor is from another database epoch, malformed or ahead of the server."""

    code = "cursor_expired"
