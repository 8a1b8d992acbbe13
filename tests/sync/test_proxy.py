"""Behind a TLS proxy, rate limits key on the client the proxy names, not on the proxy.

`fieldapp server run --forwarded-allow-ips` lists the proxies whose X-Forwarded-For is
believed; from anyone else the header is ignored, so a client cannot dodge its limit by
inventing addresses.
"""

from __future__ import annotations

import httpx

from tests.sync.live import LiveServer

BURST = 3  # failed attempts a client address may make before 429
LIMITS = {
    "FIELDAPP_SERVER__RATE_LIMITS__AUTH_FAILURES_BURST": str(BURST),
    "FIELDAPP_SERVER__RATE_LIMITS__AUTH_FAILURES_PER_MINUTE": "1",
}


def _bad_token_statuses(server: LiveServer, client_address: str, tries: int) -> list[int]:
    headers = {"Authorization": "Bearer fa1_" + "x" * 43, "X-Forwarded-For": client_address}
    body = {"head": {"seq": 0, "chain_hash": "0" * 64}}
    return [
        httpx.post(f"{server.url}/sync/pull", json=body, headers=headers).status_code
        for _ in range(tries)
    ]


def test_a_trusted_proxy_names_the_client_that_is_limited(db_url: str) -> None:
    with LiveServer(db_url, env=LIMITS, extra_args=["--forwarded-allow-ips", "127.0.0.1"]) as s:
        assert _bad_token_statuses(s, "203.0.113.7", BURST + 1) == [401] * BURST + [429]
        # another clinic laptop behind the same proxy is not punished for it
        assert _bad_token_statuses(s, "203.0.113.8", 1) == [401]


def test_an_untrusted_sender_cannot_dodge_the_limit_with_made_up_addresses(db_url: str) -> None:
    with LiveServer(db_url, env=LIMITS, extra_args=["--forwarded-allow-ips", "192.0.2.1"]) as s:
        assert _bad_token_statuses(s, "203.0.113.7", BURST) == [401] * BURST
        assert _bad_token_statuses(s, "203.0.113.8", 1) == [429]
