"""Evaluation: every metric against sklearn.metrics or a hand count, fairness against pandas, plots decode."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.image import imread
from sklearn import metrics as m

from shipyard.core.errors import InvalidInputError
from shipyard.models import plots
from shipyard.models.evaluation import evaluate_frame

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Columns:
    """A model whose outputs are columns of the frame it is given, so slices stay aligned."""

    def __init__(self, classes: list[Any] | None, proba_columns: list[str] | None) -> None:
        if classes is not None:
            self.classes_ = classes
        self.proba_columns = proba_columns

    def predict(self, df: pd.DataFrame) -> Any:
        return df["pred"].to_numpy()

    def __getattr__(self, name: str) -> Any:
        if name == "predict_proba" and self.__dict__.get("proba_columns"):
            return lambda df: df[self.proba_columns].to_numpy()
        raise AttributeError(name)


def binary_frame(draw: Any, labels: tuple[Any, Any] = (0, 1)) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    truth = draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))
    pred = draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))
    p1 = draw(st.lists(st.floats(0.001, 0.999), min_size=n, max_size=n))
    group = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    return pd.DataFrame(
        {"x": range(n), "y": truth, "pred": pred, "p0": 1 - np.array(p1), "p1": p1, "g": group}
    )


@st.composite
def binary_frames(draw: Any) -> pd.DataFrame:
    return binary_frame(draw)


@st.composite
def multiclass_frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    truth = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    pred = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    raw = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=3 * n, max_size=3 * n))).reshape(n, 3)
    proba = raw / raw.sum(axis=1, keepdims=True)
    group = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    frame = pd.DataFrame({"y": truth, "pred": pred, "g": group})
    for k in range(3):
        frame[f"p{k}"] = proba[:, k]
    return frame


def close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# -- classification metrics ------------------------------------------------------------------


@SETTINGS
@given(binary_frames())
def test_binary_metrics_agree_with_sklearn(frame: pd.DataFrame) -> None:
    result = evaluate_frame(Columns([0, 1], ["p0", "p1"]), frame, "y", plots=False)
    y, pred, p1 = frame["y"], frame["pred"], frame["p1"].to_numpy()
    expected = {
        "accuracy": m.accuracy_score(y, pred),
        "precision": m.precision_score(y, pred, labels=[0, 1], pos_label=1, zero_division=0),
        "recall": m.recall_score(y, pred, labels=[0, 1], pos_label=1, zero_division=0),
        "f1": m.f1_score(y, pred, labels=[0, 1], pos_label=1, zero_division=0),
        "log_loss": m.log_loss(y, frame[["p0", "p1"]].to_numpy(), labels=[0, 1]),
        "brier": m.brier_score_loss(y, p1, pos_label=1),
        "roc_auc": m.roc_auc_score(y, p1) if y.nunique() == 2 else math.nan,
    }
    for name, value in expected.items():
        assert close(result.metrics[name], float(value)), name
    if y.nunique() < 2:
        assert any("roc_auc is NaN" in note for note in result.notes)
    hand = [[int(((y == a) & (pred == b)).sum()) for b in (0, 1)] for a in (0, 1)]
    assert result.confusion_matrix == hand
    assert result.labels == [0, 1]
    assert result.n_rows == len(frame)


@SETTINGS
@given(multiclass_frames())
def test_multiclass_metrics_are_macro_and_agree_with_sklearn(frame: pd.DataFrame) -> None:
    columns = ["p0", "p1", "p2"]
    result = evaluate_frame(Columns([0, 1, 2], columns), frame, "y", plots=False)
    y, pred, proba = frame["y"], frame["pred"], frame[columns].to_numpy()
    labels = [0, 1, 2]
    macro = {"labels": labels, "average": "macro", "zero_division": 0}
    assert close(result.metrics["accuracy"], m.accuracy_score(y, pred))
    assert close(result.metrics["precision"], m.precision_score(y, pred, **macro))
    assert close(result.metrics["recall"], m.recall_score(y, pred, **macro))
    assert close(result.metrics["f1"], m.f1_score(y, pred, **macro))
    assert close(result.metrics["log_loss"], m.log_loss(y, proba, labels=labels))
    expected_brier = m.brier_score_loss(y, proba, labels=labels, scale_by_half=False)
    assert close(result.metrics["brier"], float(expected_brier))
    if y.nunique() == 3:
        expected_auc = m.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels)
        assert close(result.metrics["roc_auc"], float(expected_auc))
    elif y.nunique() == 1:
        assert math.isnan(result.metrics["roc_auc"])
    assert result.confusion_matrix == m.confusion_matrix(y, pred, labels=labels).tolist()


def test_string_labels_take_the_greater_one_as_positive() -> None:
    frame = pd.DataFrame(
        {"y": ["cat", "dog", "dog", "cat"], "pred": ["dog", "dog", "cat", "cat"], "p0": 0.5, "p1": 0.5}
    )
    result = evaluate_frame(Columns(None, ["p0", "p1"]), frame, "y", plots=False)
    assert result.labels == ["cat", "dog"]
    assert result.metrics["precision"] == 0.5  # dog predicted twice, right once
    assert result.metrics["recall"] == 0.5  # two dogs, one found
    assert result.confusion_matrix == [[1, 1], [1, 1]]


def test_probability_frame_columns_give_the_class_order() -> None:
    class Named:
        def predict(self, df: pd.DataFrame) -> Any:
            return np.array(["b", "a"])

        def predict_proba(self, df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"b": [0.9, 0.2], "a": [0.1, 0.8]})

    result = evaluate_frame(Named(), pd.DataFrame({"y": ["b", "a"]}), "y", plots=False)
    assert result.labels == ["b", "a"]
    assert result.metrics["roc_auc"] == 1.0  # positive is classes[1] = "a", and "a" scores higher


def test_a_real_sklearn_estimator_is_evaluated_through_its_classes() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris(as_frame=True).frame
    model = LogisticRegression(max_iter=500).fit(data.drop(columns=["target"]), data["target"])
    result = evaluate_frame(model, data, "target", plots=False)
    assert result.labels == [0, 1, 2]
    assert result.metrics["accuracy"] > 0.9
    assert 0.9 < result.metrics["roc_auc"] <= 1.0


def test_without_predict_proba_the_probability_metrics_are_nan_with_a_note() -> None:
    frame = pd.DataFrame({"y": [0, 1, 1], "pred": [0, 1, 0]})
    result = evaluate_frame(Columns([0, 1], None), frame, "y")
    assert all(math.isnan(result.metrics[k]) for k in ("roc_auc", "log_loss", "brier"))
    assert result.metrics["accuracy"] == pytest.approx(2 / 3)
    assert any("predict_proba" in note for note in result.notes)
    assert set(result.plots) == {"confusion_matrix.png"}


# -- slices and fairness ---------------------------------------------------------------------


@SETTINGS
@given(binary_frames())
def test_fairness_gaps_match_a_pandas_groupby(frame: pd.DataFrame) -> None:
    result = evaluate_frame(Columns([0, 1], ["p0", "p1"]), frame, "y", slices=["g"], plots=False)
    predicted = frame["pred"] == 1
    rates = predicted.groupby(frame["g"]).mean()
    positives = frame["y"] == 1
    tpr = predicted[positives].groupby(frame["g"][positives]).mean()
    gaps = result.fairness["g"]
    assert close(gaps["demographic_parity_difference"], float(rates.max() - rates.min()))
    expected_eo = float(tpr.max() - tpr.min()) if len(tpr) else math.nan
    assert close(gaps["equal_opportunity_difference"], expected_eo)
    assert set(result.slices["g"]) == set(frame["g"])
    for name, metrics in result.slices["g"].items():
        assert close(metrics["positive_rate"], float(rates[name]))


@SETTINGS
@given(binary_frames())
def test_slice_metrics_equal_an_evaluation_of_the_slice_alone(frame: pd.DataFrame) -> None:
    model = Columns([0, 1], ["p0", "p1"])
    result = evaluate_frame(model, frame, "y", slices=["g"], plots=False)
    for name, metrics in result.slices["g"].items():
        alone = evaluate_frame(model, frame[frame["g"] == name], "y", plots=False).metrics
        assert metrics["n_rows"] == (frame["g"] == name).sum()
        for key, value in alone.items():
            assert close(metrics[key], value), (name, key)


@SETTINGS
@given(multiclass_frames())
def test_multiclass_fairness_is_the_largest_one_vs_rest_gap(frame: pd.DataFrame) -> None:
    result = evaluate_frame(Columns([0, 1, 2], ["p0", "p1", "p2"]), frame, "y", slices=["g"], plots=False)
    parity, opportunity = [], []
    for k in range(3):
        predicted = frame["pred"] == k
        rates = predicted.groupby(frame["g"]).mean()
        parity.append(float(rates.max() - rates.min()))
        positives = frame["y"] == k
        tpr = predicted[positives].groupby(frame["g"][positives]).mean()
        if len(tpr):
            opportunity.append(float(tpr.max() - tpr.min()))
    assert close(result.fairness["g"]["demographic_parity_difference"], max(parity))
    expected = max(opportunity) if opportunity else math.nan
    assert close(result.fairness["g"]["equal_opportunity_difference"], expected)


def test_slice_values_are_strings_including_missing_ones() -> None:
    frame = pd.DataFrame({"y": [0, 1, 1, 0], "pred": [0, 1, 1, 1], "age": [30, 30, None, 41]})
    result = evaluate_frame(Columns([0, 1], None), frame, "y", slices=["age"], plots=False)
    assert set(result.slices["age"]) == {"30.0", "41.0", "<NA>"}
    assert result.slices["age"]["30.0"]["accuracy"] == 1.0


@SETTINGS
@given(st.lists(st.none() | st.integers(-2, 2) | st.sampled_from(["1", "a", "b"]) | st.just(1.5), min_size=1))
def test_slice_groups_are_the_values_spelled_as_strings(values: list[Any]) -> None:
    column = pd.Series(values, dtype=object)
    frame = pd.DataFrame({"y": [0, 1] * len(values), "pred": 0, "s": pd.concat([column, column])})
    result = evaluate_frame(
        Columns([0, 1], None), frame.reset_index(drop=True), "y", slices=["s"], plots=False
    )
    spelled = frame["s"].astype(str).where(frame["s"].notna(), "<NA>")
    expected = {str(k): float(v) for k, v in spelled.value_counts().items()}
    assert {name: metrics["n_rows"] for name, metrics in result.slices["s"].items()} == expected


# -- regression ------------------------------------------------------------------------------


@st.composite
def regression_frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    values = st.floats(-1e3, 1e3, allow_nan=False) | st.just(0.0)
    truth = draw(st.lists(values, min_size=n, max_size=n))
    pred = draw(st.lists(values, min_size=n, max_size=n))
    group = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    return pd.DataFrame({"y": truth, "pred": pred, "g": group})


@SETTINGS
@given(regression_frames())
def test_regression_metrics_agree_with_sklearn(frame: pd.DataFrame) -> None:
    result = evaluate_frame(Columns(None, None), frame, "y", task="regression", slices=["g"], plots=False)
    y, pred = frame["y"], frame["pred"]
    assert close(result.metrics["rmse"], math.sqrt(m.mean_squared_error(y, pred)))
    assert close(result.metrics["mae"], m.mean_absolute_error(y, pred))
    assert close(result.metrics["r2"], m.r2_score(y, pred) if len(y) >= 2 else math.nan)
    nonzero = y != 0
    expected_mape = m.mean_absolute_percentage_error(y[nonzero], pred[nonzero]) if nonzero.any() else math.nan
    assert close(result.metrics["mape"], float(expected_mape))  # over the rows whose target is not 0
    assert result.confusion_matrix is None and result.fairness == {} and result.labels is None
    for name, metrics in result.slices["g"].items():
        part = frame[frame["g"] == name]
        assert close(metrics["mae"], m.mean_absolute_error(part["y"], part["pred"]))


# -- plots -----------------------------------------------------------------------------------


def decode(png: bytes) -> np.ndarray[Any, Any]:
    assert png.startswith(plots.PNG_SIGNATURE)
    image = imread(io.BytesIO(png), format="png")
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    return image


def test_binary_classification_plots_are_pngs() -> None:
    rng = np.random.default_rng(1)
    p1 = rng.uniform(size=200)
    frame = pd.DataFrame({"y": (rng.uniform(size=200) < p1).astype(int), "p1": p1, "p0": 1 - p1})
    frame["pred"] = (frame["p1"] > 0.5).astype(int)
    result = evaluate_frame(Columns([0, 1], ["p0", "p1"]), frame, "y")
    assert set(result.plots) == {"roc.png", "confusion_matrix.png", "calibration.png"}
    for png in result.plots.values():
        decode(png)


def test_multiclass_and_regression_plots_are_pngs() -> None:
    rng = np.random.default_rng(2)
    raw = rng.uniform(size=(90, 3))
    proba = raw / raw.sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"y": rng.integers(0, 3, 90), "pred": proba.argmax(axis=1)})
    for k in range(3):
        frame[f"p{k}"] = proba[:, k]
    result = evaluate_frame(
        Columns(["x", "y", "z"], ["p0", "p1", "p2"]),
        frame.replace({"y": {0: "x", 1: "y", 2: "z"}, "pred": {0: "x", 1: "y", 2: "z"}}),
        "y",
    )
    assert set(result.plots) == {"roc.png", "confusion_matrix.png", "calibration.png"}
    for png in result.plots.values():
        decode(png)
    big = pd.DataFrame({"y": rng.normal(size=plots.MAX_POINTS + 10)})
    big["pred"] = big["y"] + rng.normal(scale=0.1, size=len(big))
    regression = evaluate_frame(Columns(None, None), big, "y", task="regression")
    assert set(regression.plots) == {"residuals.png"}
    decode(regression.plots["residuals.png"])


def test_a_single_class_has_no_roc_plot_and_a_nan_auc() -> None:
    frame = pd.DataFrame({"y": [1, 1, 1], "pred": [1, 0, 1], "p0": [0.2, 0.7, 0.1], "p1": [0.8, 0.3, 0.9]})
    result = evaluate_frame(Columns([0, 1], ["p0", "p1"]), frame, "y")
    assert math.isnan(result.metrics["roc_auc"])
    assert result.notes == ["roc_auc is NaN: the target has the single class 1"]
    assert "roc.png" not in result.plots and "calibration.png" in result.plots


def test_plotting_leaves_pyplot_alone() -> None:
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from shipyard.models.evaluation import evaluate_frame\n"
        "class M:\n"
        "    classes_ = [0, 1]\n"
        "    def predict(self, df): return df['x'].to_numpy()\n"
        "    def predict_proba(self, df): return np.column_stack([1 - df['x'], df['x']]) * 0.8 + 0.1\n"
        "r = evaluate_frame(M(), pd.DataFrame({'x': [0, 1, 1, 0], 'y': [0, 1, 0, 0]}), 'y')\n"
        "assert len(r.plots) == 3, r.plots.keys()\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"pred": [0]}), {}, "target column 'y' is not in the data"),
        (pd.DataFrame({"y": [0], "pred": [0]}), {"slices": ["sex"]}, "slice column(s) ['sex']"),
        (pd.DataFrame({"y": [], "pred": []}), {}, "empty frame"),
        (pd.DataFrame({"y": [0.0, None], "pred": [0, 0]}), {}, "1 NULL value(s)"),
        (pd.DataFrame({"y": ["a", "b"], "pred": [1.0, 2.0]}), {"task": "regression"}, "numeric target"),
        (pd.DataFrame({"y": [True, False], "pred": [1.0, 2.0]}), {"task": "regression"}, "numeric target"),
        (pd.DataFrame({"y": [0, 1], "pred": [0, 1]}), {"task": "ranking"}, "unknown task 'ranking'"),
        (pd.DataFrame({"y": [0, 7], "pred": [0, 1]}), {}, "label(s) ['7'] the model does not know"),
    ],
)
def test_bad_input_is_named(frame: pd.DataFrame, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        evaluate_frame(Columns([0, 1], None), frame, "y", **kwargs)
    assert message in str(caught.value)


def test_bad_model_output_is_named() -> None:
    class Short:
        classes_ = [0, 1]

        def predict(self, df: pd.DataFrame) -> Any:
            return np.zeros(len(df) - 1)

    with pytest.raises(InvalidInputError, match=r"predict\(\) returned shape \(2,\) for 3 rows"):
        evaluate_frame(Short(), pd.DataFrame({"y": [0, 1, 1]}), "y")

    class WrongWidth(Columns):
        def predict_proba(self, df: pd.DataFrame) -> Any:
            return np.full((len(df), 3), 1 / 3)

    frame = pd.DataFrame({"y": [0, 1], "pred": [0, 1]})
    with pytest.raises(InvalidInputError, match="3 columns but there are 2 classes"):
        evaluate_frame(WrongWidth(None, None), frame, "y")
    with pytest.raises(InvalidInputError, match="cannot evaluate on a list"):
        evaluate_frame(WrongWidth(None, None), [1, 2], "y")
