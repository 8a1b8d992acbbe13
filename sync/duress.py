"""The laptop's side of duress: post a signal with the duress credential, get a credential.

The credential (see `sync/server/duress.py`) can post a duress signal and nothing else, so
the laptop keeps it outside its encrypted store and can call for help while locked. A
signal carries its own id (made here, so a retry is recognised) and the time the key was
pressed; nothing about a patient, a place or a visit. Errors are the sync client's own
(`ServerUnreachable` when offline: the caller keeps the signal and tries again).
"""

from __future__ import annotations

import httpx

from sync.client import _raise_for, _send, check_server_url
from sync.outbox import DeviceIdentity, DuressCredential, DuressSignal


async def post_signal(
    http: httpx.AsyncClient, credential: DuressCredential, signal: DuressSignal, timeout_s: float
) -> str:
    """Send one signal: "received", or "duplicate" for a retry the server already has."""
    base = check_server_url(credential.server_url)
    body = {"id": str(signal.id), "at": signal.at.isoformat()}
    answer = _raise_for(await _send(http, base + "/duress", body, credential.token, timeout_s))
    return str(answer.get("status", "received"))


async def request_credential(
    http: httpx.AsyncClient, identity: DeviceIdentity, timeout_s: float
) -> DuressCredential:
    """A new duress credential for this laptop, asked for with its device token."""
    base = check_server_url(identity.server_url)
    answer = _raise_for(await _send(http, base + "/duress/key", {}, identity.token, timeout_s))
    return DuressCredential(base, identity.device_id, str(answer["duress_token"]))
