"""Minimum necessary for the new roles: a prescriber's or supervisor's token reaches their
queue and tasks, never a clinician's sync, visits or patients, dispatch or admin; a
clinician's token never reaches the review queue. Every refusal is a 403, audited."""

from __future__ import annotations

import pytest

from tests.approvals.conftest import CLINICIAN, PRESCRIBER, SUPERVISOR, Clinic

ELSEWHERE = [
    ("POST", "/sync/pull", {"head": {"seq": 0, "chain_hash": "0" * 64}}),
    ("GET", "/visits", None),
    ("GET", "/dispatch/visits", None),
    ("GET", "/admin/users", None),
    (
        "POST",
        "/approvals",
        {"id": "00000000-0000-0000-0000-000000000001", "kind": "readiness_hold", "facts": {}},
    ),
]


@pytest.mark.parametrize("who", [PRESCRIBER, SUPERVISOR])
async def test_answerers_reach_only_their_queue(clinic: Clinic, who: str) -> None:
    client = clinic.client(who)
    headers = {"Authorization": f"Bearer {client.identity.token}"}
    for method, path, body in ELSEWHERE:
        answer = await clinic.http.request(
            method, clinic.server.url + path, json=body, headers=headers
        )
        assert answer.status_code == 403, (path, answer.status_code)
    assert await client.queue() == []
    assert await client.tasks() == []
    refused = [(a, o) for a, o, _ in clinic.audit("forbidden")]
    assert refused.count((who, "role")) == len(ELSEWHERE)


async def test_a_clinician_has_no_review_queue(clinic: Clinic) -> None:
    token = clinic.client(CLINICIAN).identity.token
    for path in ("/review/queue", "/review/tasks"):
        answer = await clinic.http.get(
            clinic.server.url + path, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 403
