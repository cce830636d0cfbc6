"""Answers handed over as they are (:class:`Answered`) make the same segment as record dicts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.serving.prediction_log import Answered, InputLayout, PredictionLogger, segment_table

VALUES = {
    "float": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    "int": st.one_of(st.integers(-(2**40), 2**40), st.integers(-(2**70), 2**70)),
    "bool": st.booleans(),
}
PREDICTIONS = st.one_of(
    st.lists(st.integers(-(2**62), 2**62), min_size=3, max_size=3),
    st.lists(st.floats(), min_size=3, max_size=3),
    st.lists(st.text(max_size=4), min_size=3, max_size=3),
    st.lists(st.lists(st.floats(allow_nan=False), min_size=2, max_size=2), min_size=3, max_size=3),
)


@st.composite
def answers(draw: Any) -> tuple[list[Answered], list[dict[str, Any]]]:
    """Answered items and the record dicts the data plane would have logged for them."""
    dtypes = draw(st.lists(st.sampled_from(["float", "int", "bool"]), min_size=1, max_size=4))
    names = tuple(draw(st.lists(st.sampled_from(["a", "B", "c d", 'e"f', "g.h"]), min_size=len(dtypes),
                                max_size=len(dtypes), unique=True)))  # fmt: skip
    layout = InputLayout(names, tuple(dtypes))
    answered: list[Answered] = []
    records: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 5))):
        count = draw(st.integers(1, 3))
        batch = draw(st.booleans())  # a shadow batch: one id per row
        columns = {n: [draw(VALUES[d]) for _ in range(count)] for n, d in zip(names, dtypes, strict=True)}
        matrix = np.array(
            [[np.nan if v is None else float(v) for v in columns[n]] for n in names], dtype=np.float64
        ).T.copy()
        predictions = draw(PREDICTIONS)[:count]
        proba = draw(st.booleans())
        probabilities = [[0.25, 0.75]] * count if proba else None
        ids = tuple(f"r{i}-{j}" for j in range(count)) if batch else f"r{i}"
        answered.append(
            Answered(
                ids,
                1000 + i,
                "fraud",
                "canary" if batch else "primary",
                "fraud:2",
                batch,
                1.5,
                layout,
                matrix,
                None if layout.exact else columns,
                predictions,
                probabilities,
            )
        )
        for j in range(count):
            rid = ids[j] if isinstance(ids, tuple) else (ids if count == 1 else f"{ids}/{j}")
            records.append(
                {
                    "request_id": rid,
                    "ts_ms": 1000 + i,
                    "deployment": "fraud",
                    "model_version": "fraud:2",
                    "route": "canary" if batch else "primary",
                    "shadow": batch,
                    "latency_ms": 1.5,
                    "inputs": {n: columns[n][j] for n in names},
                    "prediction": predictions[j],
                    "probabilities": None if probabilities is None else probabilities[j],
                }
            )
    return answered, records


def by_id(table: Any) -> dict[str, dict[str, Any]]:
    return {row["request_id"]: row for row in table.to_pylist()}


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


@settings(max_examples=60, deadline=None)
@given(answers())
def test_answered_items_make_the_records_of_their_rows(
    case: tuple[list[Answered], list[dict[str, Any]]],
) -> None:
    answered, records = case
    fast, reference = by_id(segment_table(answered)), by_id(segment_table(records))
    assert fast.keys() == reference.keys()
    for rid, want in reference.items():
        got = fast[rid]
        for column in (
            "ts_ms",
            "deployment",
            "route",
            "model_version",
            "shadow",
            "latency_ms",
            "status",
            "error",
        ):
            assert got[column] == want[column], column
        assert got["probabilities"] == want["probabilities"]
        assert orjson.loads(got["prediction"]) == orjson.loads(want["prediction"])
        assert orjson.loads(got["inputs"]) == orjson.loads(want["inputs"])
        for column in [c for c in want if c.startswith("input.")]:  # every typed column of the reference
            assert same(got[column], want[column]), column


def test_answered_and_records_share_a_segment() -> None:
    layout = InputLayout(("amount", "age"), ("float", "int"))
    item = Answered("a", 1, "fraud", "primary", "fraud:1", False, 1.0, layout,
                    np.array([[2.5, 40.0]]), {"amount": [2.5], "age": [40]}, [1], None)  # fmt: skip
    failed = {"request_id": "b", "ts_ms": 2, "deployment": "fraud", "inputs": {"amount": "x"},
              "prediction": None, "status": 422, "error": "mistyped"}  # fmt: skip
    refused_kind = {"request_id": "c", "ts_ms": 3, "deployment": "fraud", "inputs": {"amount": 1, "age": 41},
                    "prediction": 0}  # fmt: skip
    table = segment_table([item, failed, refused_kind])
    rows = by_id(table)
    assert table.schema.field("input.amount").type == "double"  # ints and floats: floats
    assert rows["a"]["input.amount"] == 2.5 and rows["c"]["input.amount"] == 1.0
    assert rows["b"]["status"] == 422 and rows["b"]["input.amount"] is None
    assert [rows[r]["input.age"] for r in "abc"] == [40, None, 41]


def test_the_logger_counts_the_rows_of_answered_items() -> None:
    layout = InputLayout(("x",), ("float",))
    written: list[Any] = []
    logger = PredictionLogger(lambda deployment, records: written.append(segment_table(records)), capacity=5)
    three = Answered(
        ("a", "b", "c"), 1, "d", "r", "m:1", True, 1.0, layout, np.zeros((3, 1)), None, [1, 2, 3], None
    )
    assert logger.log_many([three, three]) == 3  # the second does not fit: dropped whole
    assert logger.pending(["b", "zz"]) == {"b": "d"}
    logger.close()
    stats = logger.stats()
    assert (stats.logged, stats.dropped, stats.written) == (3, 3, 3)
    assert written[0].column("request_id").to_pylist() == ["a", "b", "c"]
