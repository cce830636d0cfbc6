"""The typed ``input.<name>`` columns of a prediction-log segment, against a plain-Python reference:
a column is kept when its non-null values are all bools, all strings, or all ints/floats
(floats when mixed), and left out otherwise (mixed kinds, nested values, ints beyond int64)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.serving.prediction_log import _typed_inputs


def reference(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    names = list(dict.fromkeys(k for row in rows for k in row))
    out: dict[str, list[Any]] = {}
    for name in names:
        values = [row.get(name) for row in rows]
        kinds = set()
        for value in values:
            if value is None:
                continue
            if isinstance(value, bool):
                kinds.add("bool")
            elif isinstance(value, int):
                kinds.add("int" if -(2**63) <= value < 2**63 else "big")
            elif isinstance(value, float):
                kinds.add("float")
            elif isinstance(value, str):
                kinds.add("str")
            else:
                kinds.add("other")
        if kinds == {"int", "float"}:
            # ints mix into a float column only when exact as floats; else the column is left out
            exact = all(abs(v) <= 2**53 for v in values if isinstance(v, int) and not isinstance(v, bool))
            kinds = {"float"} if exact else {"other"}
        if len(kinds) == 1 and kinds <= {"bool", "int", "float", "str"}:
            as_float = kinds == {"float"}
            out[name] = [float(v) if as_float and v is not None else v for v in values]
    return out


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
)
rows = st.lists(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), scalars, max_size=4), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(rows)
def test_typed_inputs_match_the_reference(data: list[dict[str, Any]]) -> None:
    got = {name: array.to_pylist() for name, array in _typed_inputs(data).items()}
    assert got == reference(data)


def test_typed_inputs_types() -> None:
    typed = _typed_inputs(
        [{"f": 1, "b": True, "s": "x", "i": 3}, {"f": 2.5, "b": None, "s": None, "i": None}]
    )
    assert {name: array.type for name, array in typed.items()} == {
        "f": pa.float64(),
        "b": pa.bool_(),
        "s": pa.string(),
        "i": pa.int64(),
    }
