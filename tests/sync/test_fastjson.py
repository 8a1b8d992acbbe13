"""The sync routes' JSON reader gives what the standard library gives: values and errors."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from sync.server.fastjson import FastJsonRoute, loads

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**90), max_value=2**90)  # past 64 bits: orjson makes floats
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # lone surrogates too: the fast reader refuses them
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and the same types throughout (1 is not 1.0)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(json_values, st.booleans())
@example(2**64, False)
@example(-(2**63) - 1, False)
@example(float("nan"), False)
@example("\ud800", False)
@example({"a": [1.0, 1, -0.0]}, True)
def test_loads_reads_as_the_standard_library(value: Any, spaced: bool) -> None:
    text = json.dumps(value, separators=(", ", ": ") if spaced else (",", ":"))
    for body in (text.encode(), text.encode("utf-8-sig")):
        assert same(loads(body), json.loads(body))


def test_a_repeated_key_keeps_the_last_value() -> None:
    assert loads(b'{"a": 1, "a": 2}') == {"a": 2}


@pytest.mark.parametrize("body", [b"{bad", b"[1,]", b"", b'{"a": 1} x', b"\xff"])
def test_invalid_json_fails_as_the_standard_library_does(body: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        loads(body)
    with pytest.raises(ValueError) as theirs:
        json.loads(body)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


class _Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=0)
    tags: dict[str, Any] = Field(default_factory=dict)


def _sample_app(seen: list[Any]) -> FastAPI:
    router = APIRouter(route_class=FastJsonRoute)

    @router.post("/sample")
    def sample(body: _Sample) -> None:
        seen.append(body)

    app = FastAPI()
    app.include_router(router)
    return app


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        (b'{"n": 3, "tags": {"a": [1, 2.5, null]}}', 200, {"n": 3, "tags": {"a": [1, 2.5, None]}}),
        (b'{"n": 3, "n": 4}', 200, {"n": 4, "tags": {}}),  # the last of a repeated key
        (b'{"n": -1}', 422, [["body", "n"]]),
        (b'{"n": 1, "extra": 0}', 422, [["body", "extra"]]),
        (b'{"n": 1, "tags": {"a": "\\ud800"}}', 200, {"n": 1, "tags": {"a": "\ud800"}}),
        (b'{"n": ', 422, [["body", 6]]),
    ],
)
async def test_a_body_model_is_read_in_one_pass_with_the_same_answers(
    body: bytes, status: int, answer: Any
) -> None:
    # What fails the one-pass validation (a lone surrogate, any invalid body) is read and
    # validated again the usual way: FastAPI's own errors, the standard library's values.
    seen: list[Any] = []
    transport = httpx.ASGITransport(app=_sample_app(seen))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/sample", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == status, response.text
    if status == 200:
        [got] = seen
        assert isinstance(got, _Sample) and got.model_dump() == answer
    else:
        assert [error["loc"] for error in response.json()["detail"]] == answer
