"""The dispatcher's side of the clinic server: the board, requests, plans and publishing.

Errors are those of `sync.client`, translated at this boundary; each `str()` is a sentence
a dispatcher can act on:

    SyncError
    ├── ServerUnreachable      no network, a timeout or a server fault: try again
    │   ├── RateLimited        the server asked us to slow down (Retry-After)
    │   └── UntrustedCertificate  the server's certificate fails verification
    ├── InsecureServer         plain http:// to a host that is not this machine
    ├── AuthFailed             the token is unknown, expired or revoked: enrol again
    └── ServerRejected         refused: not a dispatcher's token, no such plan, a bad plan
                               (the server's sentence names ids and fields, never patients)
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import httpx

from sync.client import (
    ServerUnreachable,
    UntrustedCertificate,
    check_server_url,
    failed_certificate_check,
)
from sync.office_answers import Refusals, answer_of
from sync.server.plan_models import (
    Board,
    PlanPublic,
    PlanSummary,
    PublishResult,
    VisitRequestPublic,
)
from sync.server.safety_notes import SafetyNotePublic

DISPATCHER = Refusals(
    unauthorised="The server did not accept the dispatch token: enrol this office again.",
    forbidden="This token is not a dispatcher's: the server refused the request.",
    not_found="The server has no such plan, visit or request.",
)


def raise_for(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer, or our error for any other."""
    return answer_of(response, DISPATCHER)


class DispatchClient:
    """Async calls a dispatcher's board and commands make, over one httpx client."""

    def __init__(
        self, http: httpx.AsyncClient, server_url: str, token: str, timeout_s: float = 15.0
    ) -> None:
        self.http = http
        self.base = check_server_url(server_url)
        self._headers = {"Authorization": f"Bearer {token}"}
        self.timeout_s = timeout_s

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self.http.request(
                method, self.base + path, headers=self._headers, timeout=self.timeout_s, **kwargs
            )
        except httpx.TimeoutException:
            raise ServerUnreachable("The server did not answer in time: try again.") from None
        except httpx.TransportError as exc:
            if failed_certificate_check(exc):
                raise UntrustedCertificate(
                    "The server's certificate is not trusted on this computer, so nothing was "
                    "sent: check the server address and the sync.ca_bundle setting."
                ) from None
            raise ServerUnreachable(
                "The server cannot be reached: check the network and the address."
            ) from None
        return raise_for(response)

    async def aclose(self) -> None:
        """Close the underlying httpx client."""
        await self.http.aclose()

    async def me(self) -> dict[str, Any]:
        """Who the token belongs to."""
        return await self._call("GET", "/me")  # type: ignore[no-any-return]

    async def board(self, day: date) -> Board:
        """The day's routes with live status."""
        data = await self._call("GET", "/dispatch/board", params={"date": day.isoformat()})
        return Board.model_validate(data)

    async def upload_requests(
        self, day: date, requests: list[dict[str, Any]]
    ) -> list[VisitRequestPublic]:
        """Upload (or update by ref) the day's visit requests."""
        data = await self._call(
            "POST",
            "/dispatch/requests",
            json={"scheduled_on": day.isoformat(), "requests": requests},
        )
        return [VisitRequestPublic.model_validate(item) for item in data]

    async def cancel(self, visit_id: UUID | str) -> Board:
        """Cancel a request or visit; the day's board after it."""
        data = await self._call("POST", f"/dispatch/requests/{visit_id}/cancel")
        return Board.model_validate(data)

    async def plans(self, day: date) -> list[PlanSummary]:
        """The day's stored plans, newest first."""
        data = await self._call("GET", "/dispatch/plans", params={"date": day.isoformat()})
        return [PlanSummary.model_validate(item) for item in data]

    async def plan(self, plan_id: UUID | str) -> PlanPublic:
        """One stored plan whole."""
        return PlanPublic.model_validate(await self._call("GET", f"/dispatch/plans/{plan_id}"))

    async def store_plan(
        self, day: date, plan: dict[str, Any], roster: list[dict[str, Any]] | None = None
    ) -> PlanSummary:
        """Store a plan as the day's newest draft."""
        data = await self._call(
            "POST",
            "/dispatch/plans",
            json={"scheduled_on": day.isoformat(), "plan": plan, "roster": roster or []},
        )
        return PlanSummary.model_validate(data)

    async def publish(self, plan_id: UUID | str) -> PublishResult:
        """Apply a stored plan to the day's visits."""
        data = await self._call("POST", f"/dispatch/plans/{plan_id}/publish")
        return PublishResult.model_validate(data)

    async def add_safety_note(self, note: dict[str, Any]) -> SafetyNotePublic:
        """Record an address safety note (`patient_id`, `category`, `level`, dates)."""
        data = await self._call("POST", "/dispatch/safety-notes", json=note)
        return SafetyNotePublic.model_validate(data)

    async def safety_notes(self, patient_id: UUID | str | None = None) -> list[SafetyNotePublic]:
        """Every safety note, or one patient's."""
        params = {"patient": str(patient_id)} if patient_id else {}
        data = await self._call("GET", "/dispatch/safety-notes", params=params)
        return [SafetyNotePublic.model_validate(item) for item in data]

    async def withdraw_safety_note(self, note_id: UUID | str) -> SafetyNotePublic:
        """Withdraw a safety note."""
        data = await self._call("POST", f"/dispatch/safety-notes/{note_id}/withdraw")
        return SafetyNotePublic.model_validate(data)
