"""The prediction logger: complete after close, bounded, never blocking, failures counted."""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.serving.prediction_log import PredictionLogger, segment_table
from shipyard.serving.service import ServingService


def record(i: int, deployment: str = "fraud", **extra: Any) -> dict[str, Any]:
    return {
        "request_id": f"{deployment}-{i}",
        "ts_ms": 1_000_000 + i,
        "deployment": deployment,
        "route": "primary" if i % 10 else "canary",
        "model_version": "fraud:1",
        "inputs": {"amount": float(i), "age": 30 + i % 5, "country": "fr"},
        "prediction": i % 2,
        "probabilities": [0.25, 0.75],
        "latency_ms": 0.5,
        "shadow": False,
        **extra,
    }


class Gate:
    """A segment writer that holds until released, keeping what it was given."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.written: list[dict[str, Any]] = []

    def __call__(self, deployment: str, records: list[dict[str, Any]]) -> None:
        self.entered.set()
        assert self.release.wait(30)
        self.written += records


@pytest.mark.parametrize("n", [1, 99, 100, 101, 1234])
def test_every_record_logged_is_in_the_log_after_close(serving: ServingService, n: int) -> None:
    logger = serving.prediction_logger(segment_rows=100, flush_interval_s=60)
    for i in range(n):
        assert logger.log(record(i, "fraud" if i % 3 else "other"))
    serving.close()
    stats = logger.stats()
    assert (stats.logged, stats.written, stats.dropped, stats.failed, stats.pending) == (n, n, 0, 0, 0)
    frames = [serving.predictions(name) for name in ("fraud", "other")]
    got = sorted(id_ for frame in frames for id_ in frame["request_id"])
    assert got == sorted(record(i, "fraud" if i % 3 else "other")["request_id"] for i in range(n))
    assert all(s.rows <= 100 for s in serving.segments())
    assert sum(s.rows for s in serving.segments()) == n


def test_flush_writes_what_was_logged_so_far(serving: ServingService) -> None:
    logger = serving.prediction_logger(segment_rows=10_000, flush_interval_s=60)
    for i in range(5):
        logger.log(record(i))
    assert logger.flush()
    assert [s.rows for s in serving.segments("fraud")] == [5]
    logger.log(record(5))
    assert logger.flush()
    assert [s.rows for s in serving.segments("fraud")] == [5, 1]


def test_records_are_written_when_they_have_waited_long_enough(serving: ServingService) -> None:
    logger = serving.prediction_logger(segment_rows=10_000, flush_interval_s=0.05)
    logger.log(record(1))
    deadline = time.monotonic() + 30
    while not serving.segments("fraud") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [s.rows for s in serving.segments("fraud")] == [1]


def test_a_full_queue_drops_and_counts_and_never_blocks(caplog: pytest.LogCaptureFixture) -> None:
    gate = Gate()
    logger = PredictionLogger(gate, capacity=5, segment_rows=1, flush_interval_s=60)
    assert logger.log(record(0))
    assert gate.entered.wait(30), "the writer took the first record and is writing it"
    with caplog.at_level(logging.WARNING, logger="shipyard.serving.prediction_log"):
        accepted = [logger.log(record(i)) for i in range(1, 20)]
    assert accepted == [True] * 5 + [False] * 14
    assert logger.stats().dropped == 14
    assert sum("queue is full" in r.getMessage() for r in caplog.records) == 1
    gate.release.set()
    logger.close()
    stats = logger.stats()
    assert (stats.logged, stats.written, stats.dropped) == (6, 6, 14)
    assert [r["request_id"] for r in gate.written] == [f"fraud-{i}" for i in range(6)]


def test_pending_sees_queued_and_in_flight_records() -> None:
    gate = Gate()
    logger = PredictionLogger(gate, capacity=10, segment_rows=1, flush_interval_s=60)
    logger.log(record(0))
    assert gate.entered.wait(30)
    logger.log(record(1, "other"))
    assert logger.pending(["fraud-0", "other-1", "fraud-9"]) == {"fraud-0": "fraud", "other-1": "other"}
    gate.release.set()
    logger.close()
    assert logger.pending(["fraud-0", "other-1"]) == {}
    assert not logger.log(record(2)), "a closed logger drops"
    logger.close()  # twice is fine


def test_bad_records_and_failing_writes_are_counted_not_raised() -> None:
    calls: list[int] = []

    def failing(deployment: str, records: list[dict[str, Any]]) -> None:
        calls.append(len(records))
        raise OSError("disk full")

    logger = PredictionLogger(failing, segment_rows=2, flush_interval_s=60)
    logger.log(record(0))
    logger.log({"request_id": "x"})  # no deployment, no time
    logger.log(record(1))
    logger.close()
    stats = logger.stats()
    assert (stats.logged, stats.failed, stats.written) == (3, 3, 0)
    assert calls == [2, 2, 2], "one segment, tried three times"


def test_typed_input_columns_beside_the_json() -> None:
    records = [
        record(0, inputs={"a": 1, "b": 1.5, "c": "x", "d": True, "e": [1], "f": None}),
        record(1, inputs={"a": 2.5, "b": None, "c": "y", "d": False, "e": 2, "g": 7}),
    ]
    table = segment_table(records)
    columns = {name: str(table.schema.field(name).type) for name in table.column_names}
    assert {k: v for k, v in columns.items() if k.startswith("input.")} == {
        "input.a": "double",
        "input.b": "double",
        "input.c": "string",
        "input.d": "bool",
        "input.g": "int64",
    }
    assert table.column("input.g").to_pylist() == [None, 7]
    assert table.column("inputs").to_pylist()[0] == '{"a":1,"b":1.5,"c":"x","d":true,"e":[1],"f":null}'
    assert columns["probabilities"] == "list<item: double>"


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "c"]),
            st.one_of(
                st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=3)
            ),
            max_size=3,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_flat_inputs_make_a_table(inputs: list[dict[str, Any]]) -> None:
    table = segment_table([record(i, inputs=row) for i, row in enumerate(inputs)])
    assert table.num_rows == len(inputs)
    assert set(table.column_names) >= {"request_id", "ts_ms", "inputs", "prediction"}


def test_json_columns_hold_what_orjson_cannot() -> None:
    import orjson

    table = segment_table([record(0, inputs={"big": 2**70, "nan": float("nan")}, prediction=[2**65, 1.5])])
    assert orjson.loads(table.column("inputs")[0].as_py().replace(str(2**70), "0")) == {"big": 0, "nan": None}
    assert str(2**70) in table.column("inputs")[0].as_py()
    assert table.column("prediction")[0].as_py() == f"[{2**65},1.5]"
    assert "input.big" not in table.column_names  # beyond int64: only in the JSON
    assert math.isnan(table.column("input.nan")[0].as_py())  # a typed float column keeps NaN


def test_an_open_logger_is_flushed_when_the_interpreter_exits(home: Path) -> None:
    import subprocess
    import sys

    code = (
        "from shipyard.workspace import Workspace\n"
        "from tests.unit.serving.test_prediction_log import record\n"
        "logger = Workspace().serving.prediction_logger(flush_interval_s=3600)\n"
        "for i in range(25): logger.log(record(i))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(Path(__file__).parents[3]))
    from shipyard.workspace import Workspace

    workspace = Workspace()
    try:
        assert len(workspace.serving.predictions("fraud")) == 25
    finally:
        workspace.close()
