"""The status line's facts: sync counts, last sync, time offline, the lone-worker timer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fieldapp.services.context import AppServices
from fieldapp.services.loneworker import LoneWorkerState


@dataclass(frozen=True)
class StatusInfo:
    """Plain data for the status line widget."""

    pending: int
    set_aside: int
    last_sync: datetime | None
    offline_minutes: int | None
    sync_configured: bool
    lone_worker: LoneWorkerState
    syncing: bool = False

    def sync_text(self) -> str:
        """The sync half of the status line."""
        parts = [f"{self.pending} pending"]
        if self.set_aside:
            parts.append(f"{self.set_aside} set aside")
        if not self.sync_configured:
            parts.append("sync not configured")
        elif self.last_sync is None:
            parts.append("never synced")
        else:
            parts.append(f"last sync {self.last_sync:%H:%M}")
        if self.syncing:
            parts.append("syncing")
        elif self.offline_minutes is not None:
            hours, minutes = divmod(self.offline_minutes, 60)
            if hours:
                parts.append(f"offline {hours} h {minutes:02d} min")
            else:
                parts.append(f"offline {minutes} min" if minutes else "offline")
        return " · ".join(parts)


def status_info(services: AppServices) -> StatusInfo:
    """Read the counts from the store (cheap queries) and the timers from the services."""
    store = services.store
    pending = set_aside = 0
    last_ok: datetime | None = None
    if not store.is_locked:
        state = store.sync_status()
        pending, set_aside = state.pending, state.set_aside
        if state.last_success_at:
            # Stored in UTC by the sync client: shown on the clinic's clock.
            zone = services.clock.now().tzinfo
            last_ok = datetime.fromisoformat(state.last_success_at).astimezone(zone)
    # Offline only while the last round failed: minutes since the clinic last answered
    # (or since the first failure, before any round went well). In touch: no word of it.
    offline = None
    rounds = services.sync_state
    if services.sync is not None and rounds.offline_since is not None:
        since = last_ok if last_ok is not None else rounds.offline_since
        offline = max(0, int((services.clock.now() - since).total_seconds() // 60))
    return StatusInfo(
        pending=pending,
        set_aside=set_aside,
        last_sync=last_ok,
        offline_minutes=offline,
        sync_configured=services.sync is not None,
        lone_worker=services.lone_worker.state(),
        syncing=rounds.running,
    )
