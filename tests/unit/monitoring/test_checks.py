"""Checks: builders refuse bad limits; performance estimation agrees with realised performance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.checks import check_spec
from shipyard.monitoring.evaluation import judge
from shipyard.monitoring.performance import estimate, realised


def test_builders_check_their_limits() -> None:
    assert sy.checks.performance("roc_auc", min=0.85).params["warning"] == pytest.approx(0.87)
    assert sy.checks.performance("log_loss", max=0.5).params["higher_is_better"] is False
    with pytest.raises(InvalidInputError, match="better when higher"):
        sy.checks.performance("roc_auc", max=0.9)
    with pytest.raises(InvalidInputError, match="unknown metric"):
        sy.checks.performance("auc", min=0.9)
    with pytest.raises(InvalidInputError, match="beyond"):
        sy.checks.performance("accuracy", min=0.9, warning=0.8)
    with pytest.raises(InvalidInputError):
        sy.checks.error_rate(max=2)
    with pytest.raises(InvalidInputError, match="unknown drift test"):
        sy.checks.feature_drift(test="nope")
    assert sy.checks.latency(p99_ms=50).params["warning"] == 40
    assert check_spec({"kind": "performance", "metric": "f1", "min": 0.5}).name == "performance:f1"
    with pytest.raises(InvalidInputError, match="unknown check"):
        check_spec({"kind": "vibes"})


def test_judge() -> None:
    assert judge(0.80, 0.87, 0.85, True) == "critical"
    assert judge(0.86, 0.87, 0.85, True) == "warning"
    assert judge(0.90, 0.87, 0.85, True) == "ok"
    assert judge(60.0, 40.0, 50.0, False) == "critical"


def test_expected_auc_matches_realised_auc_of_calibrated_scores() -> None:
    rng = np.random.default_rng(0)
    scores = rng.beta(2, 5, size=20_000)
    labels = rng.random(scores.size) < scores  # calibrated by construction
    assert estimate("roc_auc", scores) == pytest.approx(roc_auc_score(labels, scores), abs=0.01)
    predicted = scores >= 0.5
    assert estimate("accuracy", scores) == pytest.approx(np.mean(predicted == labels), abs=0.01)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 0.99), min_size=2, max_size=30))
def test_expected_auc_is_the_pairwise_definition(values: list[float]) -> None:
    p = np.asarray(values)
    num = den = 0.0
    for i in range(p.size):
        for j in range(p.size):
            if i != j:
                w = p[i] * (1 - p[j])
                den += w
                num += w * (1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0)
    assert estimate("roc_auc", p) == pytest.approx(num / den, rel=1e-9, abs=1e-12)


def test_realised_metrics() -> None:
    frame = pd.DataFrame(
        {
            "label": [0, 1, 1, 0],
            "prediction": [0, 1, 0, 0],
            "probabilities": [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]],
        }
    )
    assert realised("accuracy", frame) == 0.75
    assert realised("roc_auc", frame) == roc_auc_score([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.3])
    regression = pd.DataFrame({"label": [1.0, 2.0], "prediction": [1.5, 2.5]})
    assert realised("rmse", regression) == pytest.approx(0.5)
