"""The device side of sync: push the outbox, then pull the clinician's scope, over httpx.

Errors are translated at this boundary into ours (`sync.errors`, re-exported here); each
`str()` is a sentence a clinician can act on, with no patient data.

Nothing is lost silently. Every push and pull answer carries the server's head for this
device (the newest seq it holds with none missing below); the store marks every entry above
it pending again, whatever its state said, and remembers the head as confirmed. The last
pull page carries the clinic's signed manifest of the scope (`sync.manifest`); a row the
store lacks, or holds at another version, is fetched again from scratch (`sync.integrity`).

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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import orjson

from sync.answers import has_expected_shape, looks_like_a_web_page
from sync.break_glass import AccessRequest, Grant
from sync.errors import (
    AuthFailed,
    CursorExpired,
    DeviceRevoked,
    EnrollmentFailed,
    InsecureServer,
    RateLimited,
    ServerBehind,
    ServerRejected,
    ServerUnreachable,
    StoreRolledBack,
    SyncError,
    UnexpectedAnswer,
    UntrustedCertificate,
)
from sync.integrity import ChainKeeping, server_head
from sync.outbox import DeviceIdentity, OutboxItem, head_body, push_body
from sync.ports import ClientSettings, SyncProgress, SyncReport, SyncStore
from sync.records import PatientSummary

__all__ = [
    "AuthFailed",
    "ClientSettings",
    "CursorExpired",
    "DeviceRevoked",
    "EnrollmentFailed",
    "InsecureServer",
    "RateLimited",
    "ServerBehind",
    "ServerRejected",
    "ServerUnreachable",
    "StoreRolledBack",
    "SyncClient",
    "SyncError",
    "SyncProgress",
    "SyncReport",
    "SyncStore",
    "UnexpectedAnswer",
    "UntrustedCertificate",
    "check_server_url",
    "enroll",
    "make_http_client",
]

INTERVAL_SPREAD = 0.25  # routine syncs come every interval_s, give or take this fraction
WEB_PAGE = (
    "The server answered with a web page: are you behind a captive portal? Log in to the "
    "network in a browser; sync will try again."
)
NOT_UNDERSTOOD = (
    "The server's answer is not one this app understands: check the server address "
    "(ask the clinic); sync will try again."
)
MAX_HEAD_REFUSALS = 3  # a server refusing our head again after we re-sent: give up, say so
# A pull that changed nothing brings no manifest unless asked: the client asks at its first
# round and every this many rounds after, so rows edited on disk while the app runs (and
# their manifest with them) are still found within a bounded time.
MANIFEST_EVERY = 10


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


def _is_web_page(response: httpx.Response) -> bool:
    """A page or a redirect where the API answers JSON: what a captive portal sends."""
    status = response.status_code
    if status >= 500 or status == 429:  # a proxy's error page: the server's trouble, not ours
        return False
    content_type = response.headers.get("content-type", "")
    return 300 <= status < 400 or looks_like_a_web_page(content_type, response.content)


def _raise_for(response: httpx.Response, path: str = "") -> dict[str, Any]:
    """The JSON of a 2xx answer in the shape `path` answers, or our error for any other."""
    status = response.status_code
    if _is_web_page(response):
        raise UnexpectedAnswer(WEB_PAGE)
    if 200 <= status < 300:
        try:
            answer = orjson.loads(response.content) if response.content else {}
        except orjson.JSONDecodeError:
            raise UnexpectedAnswer(NOT_UNDERSTOOD) from None
        if not has_expected_shape(path, answer):
            raise UnexpectedAnswer(NOT_UNDERSTOOD)
        return answer  # type: ignore[no-any-return]
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
    if status == 409 and code in ("push_gap", "server_behind"):
        head = server_head(body.get("head"))
        if head is not None:
            raise ServerBehind(head)
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


BREAK_GLASS = "/break-glass"
CHECKERS = "/checkers"
CHECKER_CODE = "/checkers/code"
CHECKER_REFUSED = frozenset({403, 404, 422})


def _checker_refusal(response: httpx.Response) -> tuple[str, bool] | None:
    """Why the clinic refused a checker's key, as a sentence (no code in it), and whether
    the code is spent (it can never vouch again); None when it did not refuse it."""
    if response.status_code not in CHECKER_REFUSED or _is_web_page(response):
        return None
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = {}
    body = body if isinstance(body, dict) else {}
    error = str(body.get("error") or "")
    if response.status_code == 403 and error.startswith("checker_code_"):
        return str(body.get("detail") or "the clinic refused the checker code"), True
    if response.status_code == 403:
        return None  # not a clinician's laptop: `_raise_for` says so
    if response.status_code == 404:
        return "Not an active clinician or prescriber at the clinic.", False
    try:
        message = str(body["detail"][0]["msg"])
    except (LookupError, TypeError):
        message = "the clinic did not accept the key"
    return f"The clinic did not accept it: {message}.", False


BREAK_GLASS_REFUSED = frozenset({403, 404, 422})
_REFUSAL_WORDS = {
    403: "Only a clinician's laptop may ask for break-glass access.",
    404: "The clinic has no patient with that id: check it with dispatch.",
}


def _break_glass_refusal(response: httpx.Response) -> str:
    """Why the clinic refused a break-glass request, as a sentence (no patient data)."""
    if response.status_code in _REFUSAL_WORDS:
        return _REFUSAL_WORDS[response.status_code]
    try:
        detail = orjson.loads(response.content).get("detail")
        message = str(detail[0]["msg"])
    except (orjson.JSONDecodeError, AttributeError, LookupError, TypeError):
        message = "the request was not accepted"
    return f"The clinic refused the break-glass request: {message}."


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


# -- the client ------------------------------------------------------------------------------


class SyncClient(ChainKeeping):
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
        self._pull_rounds = 0

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
        return _raise_for(response, path)

    def _head(self) -> dict[str, Any]:
        return head_body(self.store.chain_head(), self.store.confirmed_head())

    async def sync_once(self) -> SyncReport:
        """One round: hand in the outbox, then download every page of changes."""
        report = SyncReport()
        try:
            report.checkers_refused = sorted(await self.file_checkers())
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

    async def file_checkers(self) -> dict[str, str]:
        """File each second checker's key the clinic does not hold yet, with the one-time
        code they typed (before the doses they signed are pushed). The checkers the clinic
        refused, each with its sentence: their doses will be set aside. A refused code is
        dropped from the store (it can never vouch again: the colleague gets a new one and
        is enrolled again); a name the clinic does not know is tried again next round."""
        unfiled = getattr(self.store, "unfiled_checkers", None)
        refused: dict[str, str] = {}
        for name, key, code in unfiled() if unfiled is not None else []:
            base, token = self._identity()
            body = {"checker": name, "public_key": key, "code": code}
            response = await _send(self.http, base + CHECKERS, body, token, self.settings.timeout_s)
            refusal = _checker_refusal(response)
            if refusal is not None:
                sentence, code_spent = refusal
                if code_spent:
                    self.store.checker_code_refused(name, key)  # type: ignore[attr-defined]
                refused[name] = sentence
                continue
            try:
                _raise_for(response, CHECKERS)
            except ServerRejected as exc:  # refused otherwise: the round goes on
                refused[name] = str(exc)
                continue
            self.store.checker_filed(name, key)  # type: ignore[attr-defined]
        return refused

    async def checker_code(self) -> tuple[str, datetime]:
        """A one-time code for this laptop's user, to type when a colleague enrols them as
        the second checker on their laptop: (code, when it expires)."""
        answer = await self._post(CHECKER_CODE, {})
        return str(answer["code"]), datetime.fromisoformat(str(answer["expires_at"]))

    async def push(self, report: SyncReport | None = None) -> bool:
        """Send the whole outbox in batches; True if the server says this device is revoked.

        A push the server refuses because it does not continue from the server's head
        (`ServerBehind`) queues everything above that head again and starts over.
        """
        report = report if report is not None else SyncReport()
        total, done, revoked, last_first, refusals = self.store.pending_count(), 0, False, None, 0
        while True:
            batch = self.store.outbox_batch(self._batch_limit)
            if not batch or batch[0].seq == last_first:
                return revoked
            last_first = batch[0].seq
            try:
                revoked = await self._push_batch(batch, report) or revoked
            except ServerBehind as behind:
                refusals += 1
                if refusals > MAX_HEAD_REFUSALS:
                    raise ServerRejected(
                        "The server keeps refusing this laptop's records: call the clinic."
                    ) from None
                self._reconcile(behind.head, report)
                total, last_first = max(total, self.store.pending_count()), None
                continue
            done += len(batch)
            self._progress(
                SyncProgress("push", done, max(total, done), f"Sent {done} of {max(total, done)}.")
            )

    async def _push_batch(self, items: list[OutboxItem], report: SyncReport) -> bool:
        body = push_body(self.store.chain_head(), items, self.store.confirmed_head())
        try:
            answer = await self._post("/sync/push", body)
        except _TooLarge:
            if len(items) == 1:  # cannot split further: the server keeps its place only
                withheld = push_body(
                    self.store.chain_head(), items, self.store.confirmed_head(), withheld=True
                )
                return self._acknowledge(await self._post("/sync/push", withheld), report)
            half = len(items) // 2
            self._batch_limit = max(1, half)
            first = await self._push_batch(items[:half], report)
            return await self._push_batch(items[half:], report) or first
        return self._acknowledge(answer, report)

    async def pull(self, report: SyncReport | None = None) -> None:
        """Download pages after the saved cursor until the server says there is no more.

        The last page's manifest is checked against the store: rows missing or at another
        version are fetched again, once, from the start.
        """
        report = report if report is not None else SyncReport()
        cursor, reset, refetched, refusals = self.store.pull_cursor(), False, False, 0
        ask = self._pull_rounds % MANIFEST_EVERY == 0
        self._pull_rounds += 1
        while True:
            try:
                body = {"cursor": cursor, "head": self._head(), "manifest": ask}
                page = await self._post("/sync/pull", body)
            except CursorExpired:
                if reset:
                    raise ServerRejected(
                        "The server keeps refusing the download: call the clinic."
                    ) from None
                self.store.reset_pull_cursor()
                cursor, reset = None, True
                report.cursor_resets += 1
                continue
            except ServerBehind as behind:
                refusals += 1
                if refusals > MAX_HEAD_REFUSALS:
                    raise ServerRejected(
                        "The server keeps refusing this laptop's records: call the clinic."
                    ) from None
                self._reconcile(behind.head, report)
                await self.push(report)  # before any further download
                cursor = self.store.pull_cursor()
                continue
            head = server_head(page.get("head"))
            if head is not None and self._reconcile(head, report):
                await self.push(report)
            problems = self._apply_page(page, report)
            if not page["more"]:
                if not problems:
                    return
                self._refetch(problems, report, already=refetched)
                cursor, refetched = None, True
                continue
            if page["cursor"] == cursor:
                return
            cursor = page["cursor"]

    async def ask_break_glass(self, request: AccessRequest) -> Grant:
        """Ask the clinic for break-glass access to one patient: the grant, or the reason
        it was refused (`ServerRejected`, a sentence). It needs the server: offline it
        raises `ServerUnreachable`. The patient arrives with the next pull."""
        base, token = self._identity()
        body = request.model_dump(mode="json")
        response = await _send(self.http, base + BREAK_GLASS, body, token, self.settings.timeout_s)
        if response.status_code in BREAK_GLASS_REFUSED and not _is_web_page(response):
            raise ServerRejected(_break_glass_refusal(response))
        answer = _raise_for(response, BREAK_GLASS)
        try:
            return Grant.from_answer(answer)
        except ValueError:
            raise UnexpectedAnswer(NOT_UNDERSTOOD) from None

    async def break_glass_in_force(self) -> list[Grant]:
        """This clinician's grants in force, as the clinic knows them (`ServerUnreachable`
        offline)."""
        answer = await self._get(f"{BREAK_GLASS}/mine")
        try:
            return [Grant.from_answer(item) for item in answer]
        except (ValueError, TypeError):
            raise UnexpectedAnswer(NOT_UNDERSTOOD) from None

    async def _get(self, path: str) -> Any:
        """A GET with this device's token: the decoded JSON (list or object)."""
        base, token = self._identity()
        try:
            response = await self.http.get(
                base + path,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.settings.timeout_s,
            )
        except httpx.TransportError:
            raise ServerUnreachable("The server cannot be reached.") from None
        if 200 <= response.status_code < 300 and not _is_web_page(response):
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise UnexpectedAnswer(NOT_UNDERSTOOD) from None
        return _raise_for(response, path)

    async def read_break_glass(self, grant_id: UUID) -> PatientSummary:
        """The patient of a grant, read from the clinic (each read is audited there):
        `ServerRejected` once the grant has ended, `ServerUnreachable` offline."""
        base, token = self._identity()
        url = f"{base}{BREAK_GLASS}/{grant_id}/patient"
        try:
            response = await self.http.get(
                url, headers={"Authorization": f"Bearer {token}"}, timeout=self.settings.timeout_s
            )
        except httpx.TransportError:
            raise ServerUnreachable("The server cannot be reached.") from None
        if response.status_code in (403, 404) and not _is_web_page(response):
            raise ServerRejected("This break-glass access has ended.")
        answer = _raise_for(response, BREAK_GLASS)
        try:
            return PatientSummary.model_validate(answer)
        except ValueError:
            raise UnexpectedAnswer(NOT_UNDERSTOOD) from None

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
    if response.status_code == 400 and not _is_web_page(response):
        raise EnrollmentFailed(
            "The clinic did not accept that code (wrong, used, expired or out of tries): "
            "ask for a new one."
        )
    answer = _raise_for(response, "/enroll")
    identity = DeviceIdentity(
        server_url=base,
        device_id=answer["device_id"],
        token=answer["token"],
        manifest_key=answer.get("manifest_key"),
        user=answer["user"],
    )
    store.save_device_identity(identity)
    duress_token = answer.get("duress_token")
    if duress_token and keep_duress_token is not None:
        keep_duress_token(base, identity.device_id, duress_token)
    return identity
