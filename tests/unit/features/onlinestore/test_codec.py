"""Entity keys are canonical and type-stable; packed rows come back exactly, for every dtype."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.features.onlinestore.codec import entity_key, entity_keys, pack, pack_rows, unpack

INT64_MIN, INT64_MAX, UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1

ints = (
    st.integers(min_value=INT64_MIN, max_value=UINT64_MAX)
    | st.integers()
    | st.sampled_from([INT64_MIN, INT64_MAX, UINT64_MAX, UINT64_MAX + 1, INT64_MIN - 1])
)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([-0.0, math.inf, -math.inf])
texts = st.text()
bools = st.booleans()
nones = st.none()
aware = st.datetimes(timezones=st.just(UTC))
zoned = st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=h)) for h in (-11, -3, 5, 14)]))
naive = st.datetimes()
scalars = ints | floats | texts | bools | nones | aware | zoned | naive


def same(a: Any, b: Any) -> bool:
    """Equal, of the same type, NaN equal to NaN, -0.0 apart from 0.0, aware apart from naive."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, datetime):
        return a == b and (a.tzinfo is None) == (b.tzinfo is None)
    return bool(a == b)


# --------------------------------------------------------------------------- pack / unpack


@given(st.dictionaries(st.text(), scalars, max_size=8), st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_every_dtype_round_trips(values: dict[str, Any], event_ms: int) -> None:
    back, back_ms = unpack(pack(values, event_ms))
    assert back_ms == event_ms
    assert list(back) == list(values)
    assert all(same(back[name], value) for name, value in values.items())


@given(zoned | aware)
def test_aware_timestamps_come_back_in_utc_at_the_same_instant(when: datetime) -> None:
    back = unpack(pack({"t": when}, 0))[0]["t"]
    assert back == when and back.utcoffset() == timedelta(0)


@given(st.lists(floats, max_size=5))
def test_floats_keep_nan_and_infinities(values: list[float]) -> None:
    row = {f"f{i}": v for i, v in enumerate(values)}
    back, _ = unpack(pack(row, 1))
    assert all(same(back[k], v) for k, v in row.items())


def test_plain_rows_are_plain_json() -> None:
    assert pack({"a": 1, "b": 1.5, "c": "x", "d": True, "e": None}, 5) == (
        b'[5,{"a":1,"b":1.5,"c":"x","d":true,"e":null}]'
    )


def test_special_values_are_tagged() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    packed = pack({"n": math.nan, "i": -math.inf, "t": when, "tn": when.replace(tzinfo=None)}, 0)
    assert packed == (
        b'[0,{"n":{"f":"nan"},"i":{"f":"-inf"},"t":{"t":1704067200000000},"tn":{"tn":1704067200000000}}]'
    )


def test_numpy_and_pandas_scalars_become_python_values() -> None:
    row = {
        "i": np.int64(-5),
        "u": np.uint64(UINT64_MAX),
        "f": np.float32(0.5),
        "g": np.float64("nan"),
        "b": np.bool_(True),
        "ts": pd.Timestamp("2024-03-01 10:00:00.123456", tz="UTC"),
        "tsn": pd.Timestamp("2024-03-01 10:00:00"),
        "dt64": np.datetime64("2024-03-01T10:00:00.000001"),
        "nat": pd.NaT,
        "na": pd.NA,
    }
    back, _ = unpack(pack(row, 0))
    assert back["i"] == -5 and type(back["i"]) is int
    assert back["u"] == UINT64_MAX
    assert back["f"] == 0.5 and type(back["f"]) is float
    assert math.isnan(back["g"])
    assert back["b"] is True
    assert back["ts"] == datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert back["tsn"] == datetime(2024, 3, 1, 10) and back["tsn"].tzinfo is None
    assert back["dt64"] == datetime(2024, 3, 1, 10, 0, 0, 1)
    assert back["nat"] is None and back["na"] is None


@pytest.mark.parametrize("bad", [[1, 2], {"a": 1}, b"raw", object(), "\ud800"])
def test_unsupported_values_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidInputError):
        pack({"x": bad}, 0)


@pytest.mark.parametrize("data", [b"", b"{", b"[1]", b"[1,5]", b'["1",{}]', b'[1,{"x":{"zz":1}}]'])
def test_garbage_is_not_an_online_record(data: bytes) -> None:
    with pytest.raises(InvalidInputError):
        unpack(data)


# --------------------------------------------------------------------------- entity keys


def canonical(value: Any) -> Any:
    """What the key of one value is meant to depend on."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("nan",) if value != value else ("number", value)
    if isinstance(value, datetime):
        as_utc = value if value.tzinfo else value.replace(tzinfo=UTC)
        return ("time", as_utc)
    return (type(value).__name__, value)


key_scalars = ints | floats | texts | bools | nones | aware | zoned | naive


@given(st.lists(key_scalars, min_size=1, max_size=3), st.lists(key_scalars, min_size=1, max_size=3))
def test_keys_are_equal_exactly_when_the_values_are(a: list[Any], b: list[Any]) -> None:
    same_values = [canonical(v) for v in a] == [canonical(v) for v in b]
    assert (entity_key(a) == entity_key(b)) == same_values


@given(st.lists(key_scalars, min_size=1, max_size=3))
def test_a_key_is_its_own_canonical_form(values: list[Any]) -> None:
    assert entity_key(values) == entity_key(list(values))
    assert entity_keys([[v] for v in values]) == [entity_key(values)]


@given(st.lists(st.text(), min_size=1, max_size=3), st.lists(st.text(), min_size=1, max_size=3))
def test_strings_cannot_forge_the_separator(a: list[str], b: list[str]) -> None:
    assert (entity_key(a) == entity_key(b)) == (a == b)


def test_types_do_not_collide() -> None:
    keys = [entity_key([v]) for v in (1, "1", True, None, "None", 1.5, "1.5", "i1")]
    assert len(set(keys)) == len(keys)
    assert entity_key([1]) == entity_key([1.0]) == entity_key([np.int64(1)]) == entity_key([np.float64(1)])
    assert entity_key([True]) == entity_key([np.bool_(True)]) != entity_key([1])


def test_keys_are_stable_across_versions() -> None:
    """Keys are stored; changing this format orphans every online record already written."""
    when = datetime(2024, 1, 1, tzinfo=UTC)
    assert entity_key([7, "a", None, True, 2.5, when]) == 'i7|s"a"|n|b1|f2.5|t1704067200000000'
    assert entity_key([pd.Timestamp(when)]) == entity_key([when.replace(tzinfo=None)]) == "t1704067200000000"
    assert entity_keys([[1, 2], ["x", "y"]]) == ['i1|s"x"', 'i2|s"y"']


def test_unsupported_key_values_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        entity_key([[1, 2]])


@given(
    st.lists(
        st.tuples(st.integers(min_value=INT64_MIN, max_value=INT64_MAX), floats, ints, texts, nones | aware),
        max_size=20,
    )
)
def test_pack_rows_is_pack_row_by_row(rows: list[tuple[Any, ...]]) -> None:
    names = ["f", "i", "s", "t"]
    columns = [[row[c + 1] for row in rows] for c in range(4)]
    times = [row[0] for row in rows]
    expected = [pack(dict(zip(names, row[1:], strict=True)), row[0]) for row in rows]
    assert pack_rows(names, columns, times) == expected


def test_pack_rows_refuses_ragged_or_unnamed_columns() -> None:
    with pytest.raises(InvalidInputError, match="length"):
        pack_rows(["a"], [[1, 2]], [1])
    with pytest.raises(InvalidInputError, match="2 names but 1 columns"):
        pack_rows(["a", "b"], [[1]], [1])
    with pytest.raises(InvalidInputError, match="distinct"):
        pack_rows(["a", "a"], [[1], [2]], [1])
    assert pack_rows([], [], [5, 6]) == [b"[5,{}]", b"[6,{}]"]
