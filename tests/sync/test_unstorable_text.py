"""SECURITY.md 28: NUL and other text no database stores, in any field of any route: 422
naming the field, never 500, on SQLite and PostgreSQL.

The property test walks every operation of the OpenAPI schema: schemathesis makes a valid
request, then one path parameter, query parameter or body string gets a bad character.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sync.records import RecordInvalid, VitalsReading, parse_record
from sync.server.db import transaction
from sync.server.models import Device, DeviceRecordRow, ReviewItem
from sync.server.textcheck import ERROR_TYPE
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import auth
from tests.sync.factories import World, vitals

# Characters no id, name or filter holds (control characters) and text no database stores
# (NUL; a lone surrogate cannot even travel in a URL, so it is tried in bodies only).
BAD_IN_PARAMS = ["\x00", "\x01", "\x1b", "\x7f", "\x85"]
BAD_IN_BODY = ["\x00", "\ud800", "\udfff"]
# Inside a pushed record each item is judged alone (below), not the whole request.
ITEM_BY_ITEM = ("/sync/push",)


def _string_leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _string_leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in _string_leaves(item, (*path, i))]
    return []


def _spoil(document: Any, path: tuple[Any, ...], bad: str, at: int) -> Any:
    if not path:
        return document[:at] + bad + document[at:]
    head, *rest = path
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = _spoil(document[head], tuple(rest), bad, at)
    return copy


def _targets(case: Any) -> list[tuple[str, Any]]:
    targets: list[tuple[str, Any]] = [("path", name) for name in case.path_parameters or {}]
    targets += [("query", name) for name in case.query or {}]
    if case.operation.path not in ITEM_BY_ITEM and isinstance(case.body, dict | list):
        targets += [("body", leaf) for leaf in _string_leaves(case.body)]
    return targets


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_every_route_answers_422_naming_the_field_never_500(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    headers = auth(world, "root")
    tried: set[str] = set()
    requests: list[tuple[str, str, dict[str, Any], Any, tuple[str, ...]]] = []
    for operation in operations:

        @given(case=operation.as_strategy(), data=st.data())
        @settings(
            max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def spoil(case: Any, data: st.DataObject) -> None:
            targets = _targets(case)
            if not targets:
                return
            where, name = data.draw(st.sampled_from(targets))
            bad = data.draw(st.sampled_from(BAD_IN_BODY if where == "body" else BAD_IN_PARAMS))
            path_params = {k: str(v) for k, v in (case.path_parameters or {}).items()}
            query = {k: str(v) for k, v in (case.query or {}).items()}
            body = case.body if isinstance(case.body, dict | list) else None
            if where == "path":
                path_params[name] = _spoil(path_params[name], (), bad, 0)
            elif where == "query":
                query[name] = _spoil(query[name], (), bad, len(query[name]))
            else:
                body = _spoil(body, name, bad, 0)
            quoted = {k: quote(v, safe="") for k, v in path_params.items()}
            url = case.operation.path.format(**quoted)
            loc = (where, *name) if where == "body" else (where, name)
            requests.append((case.method, url, query, body, loc))
            tried.add(case.operation.path)

        spoil()
    assert len(tried) >= 10
    for method, url, query, body, loc in requests:
        content = None if body is None else json.dumps(body).encode()  # escapes surrogates
        response = await api.request(
            method,
            url,
            params=query,
            content=content,
            headers=headers | {"Content-Type": "application/json"},
        )
        assert response.status_code == 422, (method, url, loc, response.text)
        # (schemathesis's own strings may hold more such characters: each is named)
        named = [tuple(p["loc"]) for p in response.json()["detail"] if p["type"] == ERROR_TYPE]
        assert loc in named, (method, url, loc, named)


async def test_a_nul_in_the_device_name_keeps_the_code_usable(
    world: World, api: httpx.AsyncClient
) -> None:
    code = (await api.post("/admin/users/a/enroll-code", headers=auth(world, "root"))).json()[
        "code"
    ]
    refused = await api.post("/enroll", json={"code": code, "device_name": "lap\x00top"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "device_name"]
    enrolled = await api.post("/enroll", json={"code": code, "device_name": "laptop"})
    assert enrolled.status_code == 200
    with transaction(world.engine) as session:
        names = session.execute(select(Device.name)).scalars().all()
    assert all("\x00" not in name for name in names)


async def test_a_pushed_record_with_a_nul_is_set_aside_alone(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p, v = world.patients["a"], world.visits["a"]
    store = device_store(world, "a")
    bad = vitals(p.id, v.id, "a").model_dump(mode="json") | {"symptoms": ["dizzy\x00"]}
    store.write_raw("vitals", uuid.UUID(bad["id"]), bad, "ab" * 32)
    store.write(vitals(p.id, v.id, "a"))
    report = await client_for(api, store).sync_once()
    assert report.pushed == {"applied": 1, "rejected": 1}
    [aside] = store.set_aside()
    assert aside.reason is not None and "symptoms" in aside.reason
    with transaction(world.engine) as session:
        assert len(session.execute(select(DeviceRecordRow)).all()) == 1
        [review] = session.execute(select(ReviewItem)).scalars().all()
    assert review.record_id == bad["id"]


def test_a_record_with_a_nul_cannot_be_made_on_the_laptop(world: World) -> None:
    p, v = world.patients["a"], world.visits["a"]
    good = vitals(p.id, v.id, "a").model_dump(mode="json")
    for field, value in [("recorded_by", "a\x00"), ("symptoms", ["x\x00"])]:
        with pytest.raises(RecordInvalid) as refused:
            parse_record("vitals", good | {field: value})
        assert field in str(refused.value) and "NUL" in str(refused.value)
    assert VitalsReading.model_validate(good | {"symptoms": ["tab\there"]})
