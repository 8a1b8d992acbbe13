"""What the board needs from the clinic server (`sync.dispatch_client.DispatchClient` fits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from fieldapp.clinical.protocol import Protocol as ClinicalProtocol
from fieldapp.routing.settings import RoutingSettings
from fieldapp.services.clock import Clock
from sync.server.plan_models import Board, PlanPublic, PlanSummary, PublishResult, RosterClinician


class DispatchBackend(Protocol):
    """The server calls the board makes; each raises a `sync.client.SyncError` on failure."""

    async def board(self, day: date) -> Board: ...
    async def plans(self, day: date) -> list[PlanSummary]: ...
    async def plan(self, plan_id: UUID | str) -> PlanPublic: ...
    async def store_plan(
        self, day: date, plan: dict[str, Any], roster: list[dict[str, Any]] | None = None
    ) -> PlanSummary: ...
    async def publish(self, plan_id: UUID | str) -> PublishResult: ...
    async def cancel(self, visit_id: UUID | str) -> Board: ...


@dataclass(frozen=True)
class BoardContext:
    """Everything the board screen is built with (tests inject a fake backend and clock)."""

    backend: DispatchBackend
    day: date
    protocol: ClinicalProtocol
    clock: Clock
    routing: RoutingSettings | None = None
    roster: list[RosterClinician] | None = None
    poll_s: float = 15.0
    notes: tuple[str, ...] = ()
    """Shown once at start (e.g. bad rows of the clinicians file, skipped)."""
