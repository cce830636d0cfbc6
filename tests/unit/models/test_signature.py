"""Signatures: inferred from examples, checked on input, with every bad column named."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.models.signature import DTYPES, ColumnSpec, Signature, column_dtype, infer_signature

EXAMPLE = pd.DataFrame(
    {
        "flag": [True, False],
        "count": np.array([1, 2], dtype=np.int32),
        "amount": [1.5, 2.5],
        "city": ["Oslo", "Rome"],
        "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
    }
)


def test_infers_each_vocabulary_dtype_in_column_order() -> None:
    signature = infer_signature(EXAMPLE, np.array([0.1, 0.2]))
    assert [(c.name, c.dtype) for c in signature.inputs] == [
        ("flag", "bool"),
        ("count", "int"),
        ("amount", "float"),
        ("city", "string"),
        ("when", "datetime"),
    ]
    assert signature.outputs == {"dtype": "float", "shape": [-1]}


@pytest.mark.parametrize(
    ("series", "kind"),
    [
        (pd.Series([1, None], dtype="Int64"), "int"),
        (pd.Series([True, None], dtype="boolean"), "bool"),
        (pd.Series(["a", "b"], dtype=object), "string"),
        (pd.Series(["a", None], dtype="string"), "string"),
        (pd.Series(pd.Categorical(["x", "y"])), "string"),
        (pd.Series([1.0, 2.0], dtype=np.float32), "float"),
        (pd.Series(pd.to_datetime(["2024-01-01"]).tz_localize("UTC")), "datetime"),
        (pd.Series([1 + 2j]), None),
        (pd.Series([object()]), None),
    ],
)
def test_column_dtypes(series: pd.Series, kind: str | None) -> None:
    assert column_dtype(series) == kind


def test_other_example_shapes() -> None:
    from_array = infer_signature(np.zeros((3, 2)), np.zeros((3, 4)))
    assert [(c.name, c.dtype) for c in from_array.inputs] == [("0", "float"), ("1", "float")]
    assert from_array.outputs == {"dtype": "float", "shape": [-1, 4]}
    from_rows = infer_signature([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert [(c.name, c.dtype) for c in from_rows.inputs] == [("a", "int"), ("b", "string")]


def test_uninferable_column_is_named() -> None:
    with pytest.raises(InvalidInputError, match="'z'"):
        infer_signature(pd.DataFrame({"ok": [1], "z": [1 + 1j]}))
    with pytest.raises(InvalidInputError, match="2-D array"):
        infer_signature(np.zeros(3))


def test_check_reorders_drops_extras_and_widens_ints() -> None:
    signature = Signature([ColumnSpec("b", "float"), ColumnSpec("a", "string")])
    checked = signature.check(pd.DataFrame({"a": ["x", "y"], "extra": [0, 0], "b": [1, 2]}))
    assert list(checked.columns) == ["b", "a"]
    assert checked["b"].dtype == np.float64 and checked["b"].tolist() == [1.0, 2.0]


def test_check_names_every_missing_and_mistyped_column() -> None:
    signature = infer_signature(EXAMPLE)
    bad = pd.DataFrame({"flag": [1], "count": [1.5], "amount": ["high"], "extra": [0]})
    with pytest.raises(InvalidInputError) as info:
        signature.check(bad)
    error = info.value
    assert error.details["missing"] == ["city", "when"]
    assert error.details["mistyped"] == {
        "flag": {"expected": "bool", "got": "int"},
        "count": {"expected": "int", "got": "float"},
        "amount": {"expected": "float", "got": "string"},
    }
    for name in ("city", "when", "flag", "count", "amount"):
        assert repr(name) in error.message
    assert "extra" not in error.message


def test_check_accepts_integer_labels_and_arrays_by_position() -> None:
    signature = infer_signature(np.zeros((2, 3)))
    assert signature.check(pd.DataFrame(np.ones((2, 3)))).columns.tolist() == ["0", "1", "2"]
    named = Signature([ColumnSpec("x", "float"), ColumnSpec("y", "float")])
    assert named.check(np.ones((4, 2))).shape == (4, 2)
    with pytest.raises(InvalidInputError, match="missing columns: 'x', 'y'"):
        named.check(np.ones((4, 3)))  # widths differ: the columns are not taken by position
    with pytest.raises(InvalidInputError, match="DataFrame, a dict of columns"):
        named.check("x,y\n1,2")


def test_malformed_signatures_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="dtype 'decimal'"):
        ColumnSpec("x", "decimal")
    with pytest.raises(InvalidInputError, match="repeated: x"):
        Signature([ColumnSpec("x", "int"), ColumnSpec("x", "float")])
    with pytest.raises(InvalidInputError, match="malformed"):
        Signature.from_dict({"inputs": [{"dtype": "int"}]})


columns = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
    st.sampled_from(DTYPES),
    min_size=1,
    max_size=6,
)


def _values(dtype: str) -> Any:
    return {
        "bool": [True, False],
        "int": [1, 2],
        "float": [0.5, 1.5],
        "string": ["a", "b"],
        "datetime": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    }[dtype]


@given(columns)
def test_a_frame_checks_against_its_own_signature(spec: dict[str, str]) -> None:
    frame = pd.DataFrame({name: _values(dtype) for name, dtype in spec.items()})
    signature = infer_signature(frame)
    assert [(c.name, c.dtype) for c in signature.inputs] == list(spec.items())
    assert Signature.from_dict(signature.to_dict()) == signature
    assert signature.check(frame.iloc[:, ::-1]).columns.tolist() == list(spec)
