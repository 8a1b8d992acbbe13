"""The device side of sync: push the outbox, then pull the clinician's scope, over httpx.

Errors are translated at this boundary into ours; each `str()` is a sentence a clinician
can act on, with no patient data:

    SyncError
    ├── ServerUnreachable      no network, a timeout or a server fault: retried with backoff
    │   ├── RateLimited        the server asked us to slow down (429/503, Retry-After)
    │   └── UntrustedCertificate
    │                          the server's TLS certificate did not verify (no clinic CA in
    │                          `ca_bundle`, a wrong address, or a network that intercepts):
    │                          retried too, as the network may change
    ├── InsecureServer         plain http:// to a host that is not this machine
    ├── AuthFailed             the token is unknown or expired, or the user inactive: enrol again
    ├── EnrollmentFailed       the one-time code is wrong, used, expired or out of tries
    ├── DeviceRevoked          the clinic revoked this laptop: outbox handed in, store wiped
    ├── StoreRolledBack        the store is an older copy of itself: call the clinic
    ├── ServerRejected         the server refused a request we cannot fix by retrying
    └── CursorExpired          the server no longer honours our cursor (handled here:
                               the cursor is reset, the outbox kept, the pull starts again)

`SyncClient(http, store, settings)` does one round with `sync_once()`, or keeps syncing
with `run_forever()`: every `interval_s` while healthy, and after a failure again and
again with exponential backoff and jitter (honouring Retry-After), even when nothing new
was written. `sync` never imports `fieldapp`: the store is the `SyncStore` protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import platform
import random
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import orjson

from sync.outbox import (
    ChainHead,
    DeviceIdentity,
    OutboxItem,
    PushOutcome,
    SetAsideItem,
    push_body,
)
from sync.records import Record, RecordInvalid, parse_record

INTERVAL_SPREAD = 0.25  # routine syncs come every interval_s, give or take this fraction
TOO_LARGE_REASON = "The record is larger than the server accepts; kept on this laptop for review."


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


class SyncStore(Protocol):
    """What the client needs from the device store (see SYNC-INTERFACE.md)."""

    def device_identity(self) -> DeviceIdentity | None: ...
    def save_device_identity(self, identity: DeviceIdentity) -> None: ...
    def outbox_batch(self, limit: int) -> list[OutboxItem]: ...
    def acknowledge(self, outcomes: Sequence[PushOutcome]) -> None: ...
    def chain_head(self) -> ChainHead: ...
    def pull_cursor(self) -> str | None: ...
    def apply_pull_page(
        self, upserts: Sequence[Record], removals: Sequence[tuple[str, UUID]], cursor: str
    ) -> None: ...
    def reset_pull_cursor(self) -> None: ...
    def set_aside(self) -> list[SetAsideItem]: ...
    def pending_count(self) -> int: ...
    def record_sync(self, at: datetime, ok: bool) -> None: ...
    def wipe(self) -> None: ...


class ClientSettings(Protocol):
    """The sync settings the client reads (`fieldapp.settings.SyncSettings` fits)."""

    @property
    def timeout_s(self) -> float: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def retry_base_s(self) -> float: ...
    @property
    def retry_max_s(self) -> float: ...
    @property
    def interval_s(self) -> float: ...
    @property
    def ca_bundle(self) -> Path | None: ...


Phase = Literal["push", "pull", "done", "retry", "error"]


@dataclass(frozen=True)
class SyncProgress:
    """A progress event for the UI: phase, counts, and a sentence."""

    phase: Phase
    done: int = 0
    total: int = 0
    message: str = ""


@dataclass
class SyncReport:
    """What one sync round did."""

    pushed: dict[str, int] = field(default_factory=dict)
    pulled: int = 0
    removed: int = 0
    pages: int = 0
    cursor_resets: int = 0
    pending: int = 0
    set_aside: int = 0

    def summary(self) -> str:
        """One line for the shell or the status bar."""
        pushed = (
            ", ".join(f"{n} {status}" for status, n in sorted(self.pushed.items())) or "nothing"
        )
        return (
            f"pushed {pushed}; pulled {self.pulled} records, {self.removed} removals "
            f"in {self.pages} pages; {self.pending} waiting, {self.set_aside} set aside for review"
        )


# -- transport -------------------------------------------------------------------------------


def check_server_url(url: str) -> str:
    """The URL without a trailing slash, or `InsecureServer` for plain http off this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url.rstrip("/")
    raise InsecureServer(
        "The server address must start with https:// (plain http:// only to this machine)."
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_http_client(settings: ClientSettings) -> httpx.AsyncClient:
    """An httpx client with verification always on (plus the clinic's CA) and timeouts."""
    verify: ssl.SSLContext | bool = True
    if settings.ca_bundle is not None:
        verify = ssl.create_default_context()
        verify.load_verify_locations(cafile=str(settings.ca_bundle))
    return httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(settings.timeout_s))


def failed_certificate_check(exc: BaseException) -> bool:
    """Whether a transport error comes from TLS certificate verification (httpx wraps ssl)."""
    cause: BaseException | None = exc
    for _ in range(8):  # a few links suffice: httpx -> httpcore -> ssl
        if cause is None:
            return False
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


async def _send(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], token: str | None, timeout: float
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        # orjson: a hundred records a batch, and a laptop on battery
        return await http.post(url, content=orjson.dumps(body), headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        raise ServerUnreachable("The server did not answer in time: sync will try again.") from None
    except httpx.TransportError as exc:
        if failed_certificate_check(exc):
            raise UntrustedCertificate(
                "The server's certificate is not trusted on this laptop, so nothing was sent: "
                "ask the clinic to check the server address and the sync.ca_bundle setting "
                "(an unfamiliar network may also be intercepting the connection). "
                "Sync will try again."
            ) from None
        raise ServerUnreachable("The server cannot be reached: sync will try again.") from None


class _TooLarge(Exception):
    pass


def _raise_for(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a 2xx answer, or our error for any other."""
    status = response.status_code
    if 200 <= status < 300:
        return orjson.loads(response.content) if response.content else {}
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = {}
    code = body.get("error") if isinstance(body, dict) else None
    if status == 401 and code == "device_revoked":
        raise DeviceRevoked("This laptop was revoked by the clinic.")
    if status == 401:
        raise AuthFailed("The server no longer accepts this laptop's credentials: enrol it again.")
    if status == 409 and code == "store_rolled_back":
        raise StoreRolledBack(
            "This laptop's store is an older copy than the one that synced before: "
            "stop and call the clinic before recording anything."
        )
    if status == 410:
        raise CursorExpired("The server asked to start the download again.")
    if status == 413:
        raise _TooLarge
    if status in (429, 503):
        raise RateLimited(_retry_after(response))
    if status >= 500:
        raise ServerUnreachable("The server had a problem: sync will try again.")
    raise ServerRejected(
        f"The server refused the sync request ({status} {code or ''}).".replace(" )", ")")
    )


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


# -- the client ------------------------------------------------------------------------------


class SyncClient:
    """Push then pull, for one device store, over one httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        store: SyncStore,
        settings: ClientSettings,
        *,
        progress: Callable[[SyncProgress], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.http, self.store, self.settings = http, store, settings
        self._progress = progress or (lambda _event: None)
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._batch_limit = settings.batch_size

    def notify_write(self) -> None:
        """A record was written: sync soon rather than at the next interval."""
        self._wake.set()

    def _identity(self) -> tuple[str, str]:
        identity = self.store.device_identity()
        if identity is None:
            raise AuthFailed("This laptop is not enrolled: enrol it with a code from the clinic.")
        return check_server_url(identity.server_url), identity.token

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        base, token = self._identity()
        response = await _send(self.http, base + path, body, token, self.settings.timeout_s)
        return _raise_for(response)

    def _head(self) -> dict[str, Any]:
        head = self.store.chain_head()
        return {"seq": head.seq, "chain_hash": head.chain_hash}

    async def sync_once(self) -> SyncReport:
        """One round: hand in the outbox, then download every page of changes."""
        report = SyncReport()
        try:
            if await self.push(report):
                raise DeviceRevoked("This laptop was revoked by the clinic.")
            await self.pull(report)
        except DeviceRevoked:
            await self._wipe()  # raises DeviceRevoked once the store is erased
        except SyncError as exc:
            self.store.record_sync(datetime.now(UTC), ok=False)
            self._progress(SyncProgress("error", message=str(exc)))
            raise
        report.pending = self.store.pending_count()
        report.set_aside = len(self.store.set_aside())
        self.store.record_sync(datetime.now(UTC), ok=True)
        self._progress(SyncProgress("done", message=report.summary()))
        return report

    async def push(self, report: SyncReport | None = None) -> bool:
        """Send the whole outbox in batches; True if the server says this device is revoked."""
        report = report if report is not None else SyncReport()
        total, done, revoked, last_first = self.store.pending_count(), 0, False, None
        while True:
            batch = self.store.outbox_batch(self._batch_limit)
            if not batch or batch[0].seq == last_first:
                return revoked
            last_first = batch[0].seq
            revoked = await self._push_batch(batch, report) or revoked
            done += len(batch)
            self._progress(
                SyncProgress("push", done, max(total, done), f"Sent {done} of {max(total, done)}.")
            )

    async def _push_batch(self, items: list[OutboxItem], report: SyncReport) -> bool:
        body = push_body(self.store.chain_head(), items)
        try:
            answer = await self._post("/sync/push", body)
        except _TooLarge:
            if len(items) == 1:  # cannot split further: set it aside so the queue moves
                self.store.acknowledge([PushOutcome(items[0].seq, "rejected", TOO_LARGE_REASON)])
                report.pushed["rejected"] = report.pushed.get("rejected", 0) + 1
                return False
            half = len(items) // 2
            self._batch_limit = max(1, half)
            first = await self._push_batch(items[:half], report)
            return await self._push_batch(items[half:], report) or first
        outcomes = [
            PushOutcome(r["seq"], r["status"], r.get("reason")) for r in answer.get("results", [])
        ]
        self.store.acknowledge(outcomes)
        for outcome in outcomes:
            report.pushed[outcome.status] = report.pushed.get(outcome.status, 0) + 1
        return bool(answer.get("revoked"))

    async def pull(self, report: SyncReport | None = None) -> None:
        """Download pages after the saved cursor until the server says there is no more."""
        report = report if report is not None else SyncReport()
        cursor, reset = self.store.pull_cursor(), False
        while True:
            try:
                page = await self._post("/sync/pull", {"cursor": cursor, "head": self._head()})
            except CursorExpired:
                if reset:
                    raise ServerRejected(
                        "The server keeps refusing the download: call the clinic."
                    ) from None
                self.store.reset_pull_cursor()
                cursor, reset = None, True
                report.cursor_resets += 1
                continue
            try:
                upserts = [parse_record(u["kind"], u["record"]) for u in page["upserts"]]
            except RecordInvalid:
                raise ServerRejected(
                    "The server sent a record this app cannot read: update the app."
                ) from None
            removals = [(r["kind"], UUID(r["id"])) for r in page["removals"]]
            self.store.apply_pull_page(upserts, removals, page["cursor"])
            report.pages += 1
            report.pulled += len(upserts)
            report.removed += len(removals)
            self._progress(
                SyncProgress(
                    "pull", report.pulled, report.pulled, f"Received {report.pulled} records."
                )
            )
            if not page["more"] or page["cursor"] == cursor:
                return
            cursor = page["cursor"]

    async def _wipe(self) -> None:
        """Hand in what is left of the outbox, crypto-erase the store, tell the server."""
        with contextlib.suppress(DeviceRevoked):  # a server taking nothing: wipe regardless
            await self.push()
        base, token = self._identity()
        self.store.wipe()
        with contextlib.suppress(ServerUnreachable):  # the server refuses it anyway
            await _send(self.http, base + "/sync/wiped", {}, token, self.settings.timeout_s)
        raise DeviceRevoked(
            "The clinic revoked this laptop: its unsynced work was handed in and its store erased."
        )

    def backoff(self, attempt: int, retry_after: float = 0.0) -> float:
        """Exponential delay with jitter for the nth failure in a row, at least Retry-After."""
        cap = min(self.settings.retry_max_s, self.settings.retry_base_s * 2 ** max(0, attempt - 1))
        return max(retry_after, cap / 2 + self._rng.uniform(0, cap / 2))

    def next_interval(self) -> float:
        """The wait before the next routine sync: the interval, give or take a quarter.

        Laptops that came online together (the morning, the end of an outage) would
        otherwise hit the server in the same instant every interval, for the whole day;
        the spread lets them drift apart.
        """
        return self.settings.interval_s * self._rng.uniform(
            1 - INTERVAL_SPREAD, 1 + INTERVAL_SPREAD
        )

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Sync now, then every interval; after failures retry with backoff until `stop`.

        Returns when `stop` is set; raises the errors no retry can fix (revoked, rolled
        back, credentials refused, insecure address).
        """
        attempt = 0
        while not stop.is_set():
            try:
                await self.sync_once()
                attempt, delay = 0, self.next_interval()
            except (ServerUnreachable, ServerRejected) as exc:
                attempt += 1
                delay = self.backoff(
                    attempt, exc.retry_after_s if isinstance(exc, RateLimited) else 0.0
                )
                self._progress(SyncProgress("retry", message=f"{exc} Next try in {delay:.0f} s."))
            self._wake.clear()
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for task in waiters:
                task.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)


async def enroll(
    server_url: str,
    code: str,
    store: SyncStore,
    *,
    http: httpx.AsyncClient,
    timeout_s: float = 15.0,
    device_name: str | None = None,
    keep_duress_token: Callable[[str, str, str], None] | None = None,
) -> DeviceIdentity:
    """Redeem a one-time code and keep the device identity (and its token) in the store.

    A clinician's enrolment also hands out a duress credential, which does not belong in
    the encrypted store: `keep_duress_token(server_url, device_id, token)` keeps it.
    """
    base = check_server_url(server_url)
    name = (device_name or platform.node() or "laptop")[:100]
    body = {"code": code, "device_name": name}
    signing_key = getattr(store, "signing_public_key", None)
    if signing_key is not None:  # the clinician's key for signed notes (fieldapp's store)
        body["signing_key"] = signing_key()
    response = await _send(http, base + "/enroll", body, None, timeout_s)
    if response.status_code == 400:
        raise EnrollmentFailed(
            "The clinic did not accept that code (wrong, used, expired or out of tries): "
            "ask for a new one."
        )
    answer = _raise_for(response)
    identity = DeviceIdentity(
        server_url=base, device_id=answer["device_id"], token=answer["token"], user=answer["user"]
    )
    store.save_device_identity(identity)
    duress_token = answer.get("duress_token")
    if duress_token and keep_duress_token is not None:
        keep_duress_token(base, identity.device_id, duress_token)
    return identity
