"""Canonical JSON is byte for byte what the standard library writes, fast path or not."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sync.canonical import canonical_json


def standard(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits too
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1e-3, max_value=1e-3)  # near where repr turns to 1e-05
    | st.sampled_from([1e16, 9999999999999998.0, 1e-4, 9.99e-5, -0.0, 5e-324, 1e300])
    | st.text()
    | st.text(alphabet=st.characters(max_codepoint=0x7F))
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
@example({"é": 1, "z": [1e-05, 1e16, float("nan")]})
@example({"b": 1, "a": [True, None, 2**64]})
def test_canonical_json_is_the_standard_librarys_bytes(value: Any) -> None:
    assert canonical_json(value) == standard(value)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e-3, 1e-3))
def test_every_float_is_written_as_repr_writes_it(number: float) -> None:
    assert canonical_json({"x": [number]}) == standard({"x": [number]})


@given(st.text())
@example("\x7f")
@example("\u2028")
def test_every_text_is_written_as_the_standard_library_escapes_it(text: str) -> None:
    assert canonical_json({text: text}) == standard({text: text})


@pytest.mark.parametrize(
    "value",
    [
        {"id": "a", "n": 120, "t": 36.6, "xs": [], "none": None, "ok": False},
        {"note": 'quoted "text" with \\ and \n\t\r\b\f controls'},
        [0.1, 100.0, 1e15, 0.0001, -2.5],
    ],
)
def test_everyday_records_take_the_fast_path_and_agree(value: Any) -> None:
    # Values like these are nearly every record: orjson writes them (no fallback needed).
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == standard(value)
    assert canonical_json(value) == standard(value)


def test_odd_floats_fall_back() -> None:
    for odd in (1e-05, 1e-7, 1e16, 2.5e20, math.inf, -math.inf):
        assert canonical_json({"x": odd}) == standard({"x": odd})
