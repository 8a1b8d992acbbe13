"""The errors of the device side of sync. Foreign errors are translated at the client's
boundary into these; each `str()` is a sentence a clinician can act on, with no patient data:

    SyncError
    ├── ServerUnreachable      no network, a timeout or a server fault: retried with backoff
    │   ├── RateLimited        the server asked us to slow down (429/503, Retry-After)
    │   ├── UntrustedCertificate
    │   │                      the server's TLS certificate did not verify (no clinic CA in
    │   │                      `ca_bundle`, a wrong address, or a network that intercepts):
    │   │                      retried too, as the network may change
    │   └── UnexpectedAnswer   a web page (a captive portal), a redirect, or JSON that is not
    │                          the API's: retried, as logging in to the network fixes it
    ├── InsecureServer         plain http:// to a host that is not this machine
    ├── AuthFailed             the token is unknown or expired, or the user inactive: enrol again
    ├── EnrollmentFailed       the one-time code is wrong, used, expired or out of tries
    ├── DeviceRevoked          the clinic revoked this laptop: outbox handed in, store wiped
    ├── StoreRolledBack        the store is an older copy of itself: call the clinic
    ├── ServerRejected         the server refused a request we cannot fix by retrying
    ├── CursorExpired          the server no longer honours our cursor (handled here:
    │                          the cursor is reset, the outbox kept, the pull starts again)
    └── ServerBehind           the server holds less of our chain than we thought: a push
                               with a gap, or a server restored from a backup (handled
                               here: every entry above the server's head is sent again)
"""

from __future__ import annotations

from sync.outbox import ChainHead


class SyncError(Exception):
    """Base of every sync failure."""


class ServerUnreachable(SyncError):
    """The server could not be reached or failed; sync retries by itself."""


class RateLimited(ServerUnreachable):
    """The server asked us to wait before trying again."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"The server is busy: sync will try again in {max(1, round(retry_after_s))} s."
        )


class UntrustedCertificate(ServerUnreachable):
    """The server's certificate did not verify, so nothing was sent."""


class UnexpectedAnswer(ServerUnreachable):
    """The answer was not the clinic server's API: a captive portal's page, or another service."""


class InsecureServer(SyncError):
    """The server address would send data unencrypted over the network."""


class AuthFailed(SyncError):
    """The server did not accept this laptop's credentials."""


class EnrollmentFailed(SyncError):
    """The enrollment code was not accepted."""


class DeviceRevoked(SyncError):
    """The clinic revoked this laptop; its store was wiped after handing in its work."""


class StoreRolledBack(SyncError):
    """The store is older than what this laptop already sent: it was replaced by a copy."""


class ServerRejected(SyncError):
    """The server refused a request in a way retrying will not fix."""


class CursorExpired(SyncError):
    """The server no longer honours the pull cursor (handled inside the client)."""


class ServerBehind(SyncError):
    """The server holds less of this laptop's chain than pushed (handled inside the client)."""

    def __init__(self, head: ChainHead) -> None:
        self.head = head
        super().__init__(f"The server holds this laptop's records up to {head.seq} only.")
