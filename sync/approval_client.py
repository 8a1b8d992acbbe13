"""Remote approvals from either end: the clinician's laptop raising and waiting, the
prescriber's or supervisor's console reading its queue and answering.

Errors are `sync.client`'s, each a sentence to act on; an answer the clinic refused raises
`sync.approvals.AnswerRefused` with the clinic's reason (forged, replayed, expired,
wrong_role).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from sync.approvals import (
    REFUSAL_REASONS,
    Answer,
    AnswerRefused,
    ApprovalRequestIn,
    RequestPublic,
    ReviewTask,
)
from sync.client import (
    ServerUnreachable,
    UntrustedCertificate,
    failed_certificate_check,
)
from sync.office_answers import Refusals, answer_of, detail_of
from sync.outbox import DeviceIdentity

# The long poll's own wait rides on top of the usual timeout.
WAIT_MARGIN_S = 10.0


APPROVALS = Refusals(
    unauthorised="The server no longer accepts this device's credentials: enrol again.",
    forbidden="The clinic refused: your role may not do this.",
    not_found="The clinic has no such request within your reach.",
    refuser="clinic",
)


def raise_for(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer, or our error for any other."""
    return answer_of(response, APPROVALS)


def _refused(response: httpx.Response) -> AnswerRefused | None:
    try:
        code = response.json().get("error", "")
    except (ValueError, AttributeError):
        return None
    reason = str(code).removeprefix("answer_")
    if str(code).startswith("answer_") and reason in REFUSAL_REASONS:
        return AnswerRefused(reason, detail_of(response) or "The clinic refused the answer.")  # type: ignore[arg-type]
    return None


class ApprovalClient:
    """Approval calls of one enrolled device, over one httpx client."""

    def __init__(
        self, http: httpx.AsyncClient, identity: DeviceIdentity, timeout_s: float = 15.0
    ) -> None:
        self.http = http
        self.identity = identity
        self.base = identity.server_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {identity.token}"}
        self.timeout_s = timeout_s

    async def _call(self, method: str, path: str, timeout: float | None = None, **kw: Any) -> Any:
        try:
            response = await self.http.request(
                method,
                self.base + path,
                headers=self._headers,
                timeout=timeout or self.timeout_s,
                **kw,
            )
        except httpx.TimeoutException:
            raise ServerUnreachable("The server did not answer in time: try again.") from None
        except httpx.TransportError as exc:
            if failed_certificate_check(exc):
                raise UntrustedCertificate(
                    "The server's certificate is not trusted on this laptop, so nothing was "
                    "sent: check the server address and the sync.ca_bundle setting."
                ) from None
            raise ServerUnreachable("The server cannot be reached: no data connection.") from None
        refused = _refused(response) if response.status_code >= 400 else None
        if refused is not None:
            raise refused
        return raise_for(response)

    # -- the clinician's laptop ----------------------------------------------------------------

    async def raise_request(self, request: ApprovalRequestIn) -> RequestPublic:
        """Send a request to the clinic's queue (sending it again is harmless)."""
        data = await self._call("POST", "/approvals", json=request.model_dump(mode="json"))
        return RequestPublic.model_validate(data)

    async def read(self, request_id: UUID | str, wait_s: float = 0) -> RequestPublic:
        """The request as the clinic holds it; with `wait_s`, waits for its answer."""
        data = await self._call(
            "GET",
            f"/approvals/{request_id}",
            params={"wait": wait_s},
            timeout=self.timeout_s + wait_s + WAIT_MARGIN_S,
        )
        return RequestPublic.model_validate(data)

    async def report_refusal(self, request_id: UUID | str, reason: str) -> None:
        """Tell the clinic this laptop refused the answer it was handed (audited there)."""
        await self._call("POST", f"/approvals/{request_id}/refused", json={"reason": reason})

    # -- the prescriber's or supervisor's console ----------------------------------------------

    async def queue(self, kind: str | None = None, status: str = "pending") -> list[RequestPublic]:
        """The caller's queue, overdue first."""
        params = {"status": status} | ({"kind": kind} if kind else {})
        data = await self._call("GET", "/review/queue", params=params)
        return [RequestPublic.model_validate(item) for item in data]

    async def me(self) -> dict[str, Any]:
        """Who the token belongs to (user, role)."""
        return await self._call("GET", "/me")  # type: ignore[no-any-return]

    async def tasks(self) -> list[ReviewTask]:
        """The follow-up tasks for the caller's role, overdue first."""
        data = await self._call("GET", "/review/tasks")
        return [ReviewTask.model_validate(item) for item in data]

    async def answer(self, answer: Answer) -> RequestPublic:
        """Hand in a signed answer."""
        data = await self._call(
            "POST",
            f"/review/requests/{answer.request_id}/answer",
            json=answer.model_dump(mode="json"),
        )
        return RequestPublic.model_validate(data)
