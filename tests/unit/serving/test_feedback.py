"""Feedback labels joined late to the prediction log, unknown ids reported, time windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.serving.service import ServingService
from shipyard.workspace import Workspace

from .test_prediction_log import record

DAY_MS = 86_400_000


def logged(serving: ServingService, n: int, deployment: str = "fraud") -> None:
    logger = serving.prediction_logger(segment_rows=7, flush_interval_s=60)
    for i in range(n):
        logger.log(record(i, deployment))
    logger.flush()


def test_labels_arriving_days_later_are_joined(serving: ServingService) -> None:
    logged(serving, 20)
    late = 1_000_000 + 3 * DAY_MS
    items = [{"request_id": f"fraud-{i}", "label": i % 2, "ts": late + i} for i in range(0, 20, 2)]
    assert serving.record_feedback(items, deployment="fraud") == {"accepted": 10, "unknown": []}
    frame = serving.predictions("fraud")
    assert len(frame) == 20
    labelled = frame.dropna(subset=["label"])
    assert list(labelled["request_id"]) == [f"fraud-{i}" for i in range(0, 20, 2)]
    assert list(labelled["label"]) == [0] * 10
    assert list(labelled["label_ts_ms"]) == [late + i for i in range(0, 20, 2)]
    assert frame["label"].isna().sum() == 10


def test_unknown_ids_are_reported_and_nothing_is_stored_for_them(serving: ServingService) -> None:
    logged(serving, 5)
    logged(serving, 2, deployment="other")
    result = serving.record_feedback(
        [
            {"request_id": "fraud-1", "label": 1},
            {"request_id": "nobody", "label": 0},
            {"request_id": "other-1", "label": 0},
        ],
        deployment="fraud",
    )
    assert result == {"accepted": 1, "unknown": ["nobody", "other-1"]}
    assert serving.store.find_labels(["nobody", "other-1", "fraud-1"])[0].request_id == "fraud-1"
    assert len(serving.store.find_labels(["nobody", "other-1"])) == 0
    anywhere = serving.record_feedback({"request_id": "other-1", "label": 0})  # one item, any deployment
    assert anywhere == {"accepted": 1, "unknown": []}
    assert serving.store.find_labels(["other-1"])[0].deployment == "other"


def test_ids_still_pending_in_the_logger_are_known(serving: ServingService) -> None:
    logger = serving.prediction_logger(segment_rows=10_000, flush_interval_s=60)
    logger.log(record(1))
    assert serving.segments() == []
    assert serving.record_feedback({"request_id": "fraud-1", "label": "fraud"}) == {
        "accepted": 1,
        "unknown": [],
    }
    logger.close()
    frame = serving.predictions("fraud")
    assert list(frame["label"]) == ["fraud"]


def test_a_second_label_replaces_the_first(serving: ServingService) -> None:
    logged(serving, 3)
    serving.record_feedback({"request_id": "fraud-1", "label": 0, "ts": 5})
    serving.record_feedback(
        [{"request_id": "fraud-1", "label": 1, "ts": 6}, {"request_id": "fraud-1", "label": 1, "ts": 7}]
    )
    frame = serving.predictions("fraud").set_index("request_id")
    assert (frame.loc["fraud-1", "label"], frame.loc["fraud-1", "label_ts_ms"]) == (1, 7)


def test_shadow_and_primary_rows_of_a_request_share_its_label(serving: ServingService) -> None:
    logger = serving.prediction_logger()
    logger.log(record(1))
    logger.log(record(1, route="shadow", shadow=True, model_version="fraud:8", prediction=0))
    logger.close()
    assert serving.record_feedback({"request_id": "fraud-1", "label": 1})["accepted"] == 1
    frame = serving.predictions("fraud")
    assert list(zip(frame["shadow"], frame["model_version"], frame["label"], strict=True)) == [
        (False, "fraud:1", 1),
        (True, "fraud:8", 1),
    ]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({"label": 1}, "request_id"),
        ({"request_id": "r"}, "label is missing"),
        ({"request_id": "r", "label": 1, "ts": "yesterday"}, "ISO-8601"),
        ({"request_id": "r", "label": 1, "extra": 2}, "unknown field"),
        ("r1", "a list of them"),
    ],
)
def test_bad_feedback_is_refused(serving: ServingService, items: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        serving.record_feedback(items)  # type: ignore[arg-type]


def test_predictions_in_a_time_window(serving: ServingService) -> None:
    logged(serving, 30)  # ts_ms 1_000_000 .. 1_000_029
    window = serving.predictions("fraud", start=1_000_010, end=1_000_020)
    assert list(window["ts_ms"]) == list(range(1_000_010, 1_000_020))
    start = datetime.fromtimestamp(1_000_025 / 1000, tz=UTC)
    assert list(serving.predictions("fraud", start=start)["ts_ms"]) == list(range(1_000_025, 1_000_030))
    assert len(serving.predictions("fraud", end="1970-01-01T00:16:40.005Z")) == 5
    assert len(serving.predictions("fraud", start=2_000_000)) == 0


def test_columns_and_types_of_the_frame(serving: ServingService) -> None:
    logged(serving, 4)
    frame = serving.predictions("fraud", with_labels=False)
    assert list(frame.columns) == [
        "request_id",
        "ts_ms",
        "ts",
        "deployment",
        "route",
        "model_version",
        "shadow",
        "latency_ms",
        "prediction",
        "probabilities",
        "inputs",
        "status",
        "error",
        "input.amount",
        "input.age",
        "input.country",
    ]
    assert str(frame["prediction"].dtype) == "int64"
    assert str(frame["input.amount"].dtype) == "float64"
    assert frame["ts"][0] == pd.Timestamp(1_000_000, unit="ms", tz="UTC")
    assert list(frame["probabilities"][0]) == [0.25, 0.75]
    empty = serving.predictions("nobody")
    assert len(empty) == 0
    assert {"request_id", "prediction", "label", "label_ts_ms"} <= set(empty.columns)


def test_the_sdk_reads_the_log_and_takes_feedback(workspace: Workspace) -> None:
    logged(workspace.serving, 3)
    assert sy.serving.feedback([{"request_id": "fraud-2", "label": 1}], deployment="fraud")["accepted"] == 1
    frame = sy.serving.predictions("fraud")
    assert frame.set_index("request_id").loc["fraud-2", "label"] == 1
