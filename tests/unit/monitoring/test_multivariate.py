"""Multivariate drift: the domain classifier's cross-validated ROC AUC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.profiles import build_profile


def sample(n: int, seed: int, correlated: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = x + rng.normal(scale=0.3, size=n) if correlated else rng.normal(scale=np.hypot(1, 0.3), size=n)
    return pd.DataFrame({"x": x, "y": y, "city": rng.choice(["a", "b", "c"], n), "k": rng.integers(0, 3, n)})


def test_the_same_distribution_scores_about_one_half() -> None:
    result = sy.monitoring.multivariate_drift(sample(1500, 1), sample(1500, 2), max_rows=1000)
    assert 0.4 < result.roc_auc < 0.6 and not result.drifted
    assert (result.n_reference, result.n_current) == (1000, 1000)
    assert result.columns == ("x", "y", "city", "k")


def test_a_joint_shift_that_no_single_column_shows_is_found() -> None:
    reference, current = sample(1500, 1), sample(1500, 2, correlated=False)  # same marginals, no correlation
    result = sy.monitoring.multivariate_drift(reference, current, columns=["x", "y"])
    assert result.roc_auc > 0.75 and result.drifted
    assert result.to_dict()["roc_auc"] == result.roc_auc


def test_bad_input_is_refused() -> None:
    reference = sample(100, 1)
    with pytest.raises(InvalidInputError, match="missing"):
        sy.monitoring.multivariate_drift(reference, reference, columns=["nope"])
    with pytest.raises(InvalidInputError, match="folds"):
        sy.monitoring.multivariate_drift(reference, reference, folds=1)
    with pytest.raises(InvalidInputError, match="at least 5 rows"):
        sy.monitoring.multivariate_drift(reference.iloc[:3], reference)
    with pytest.raises(InvalidInputError, match="cannot read"):
        sy.monitoring.multivariate_drift(build_profile(reference), reference)
