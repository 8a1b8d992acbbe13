"""The sync routes' JSON reader gives what the standard library gives: values and errors."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sync.server.fastjson import loads

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
