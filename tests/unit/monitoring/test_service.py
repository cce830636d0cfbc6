"""Dataset references: the reference profile is built once, kept in the content store, found by digest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.monitoring import inputs
from shipyard.monitoring.service import MonitoringService
from shipyard.workspace import current_workspace


def data(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1.0, n), "city": rng.choice(["a", "b", "c"], n)})


def test_a_dataset_reference_is_profiled_once(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = home.parent / "train.parquet"
    data(3000).to_parquet(path)
    sy.datasets.add(path, "train")
    current = data(500, shift=0.5, seed=1)
    first = sy.monitoring.drift("train@1", current)
    pointers = list((home / "cache" / "monitoring" / "profiles").iterdir())
    assert len(pointers) == 1
    digest = pointers[0].read_text()
    assert current_workspace().content.exists(digest)

    def no_rebuild(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stored profile should have been used")

    monkeypatch.setattr(inputs, "_build", no_rebuild)
    again = sy.monitoring.drift("train", current)  # the latest version: the same digest
    pd.testing.assert_frame_equal(again, first)
    assert first.set_index("column").loc["x", "drifted"]
    profile = sy.monitoring.profile("train@1")
    assert profile.source == "train@1" and profile.n_rows == 3000
    pd.testing.assert_frame_equal(sy.monitoring.drift(profile, current), first)
    pd.testing.assert_frame_equal(sy.monitoring.drift(data(3000), current), first)


def test_current_data_and_csv_versions_by_reference(home: Path) -> None:
    csv = home.parent / "window.csv"
    data(400, seed=2).to_csv(csv, index=False)
    sy.datasets.add(csv, "window")
    frame = sy.monitoring.drift(data(400), "window@1")
    assert list(frame["test"]) == ["ks", "chi2"] and not frame.attrs["drifted"]
    assert sy.monitoring.data_quality(data(400), "window@1")["failed"].sum() == 0
    assert sy.monitoring.multivariate_drift("window@1", data(400), max_rows=400).roc_auc < 0.65
    with pytest.raises(NotFoundError):
        sy.monitoring.drift("nothing@1", data(10))


def test_a_corrupt_pointer_only_costs_a_rebuild(home: Path) -> None:
    path = home.parent / "train.parquet"
    data(2000).to_parquet(path)
    sy.datasets.add(path, "train")
    expected = sy.monitoring.drift("train@1", data(100, seed=3))
    for pointer in (home / "cache" / "monitoring" / "profiles").iterdir():
        pointer.write_text("blake3:" + "0" * 64)
    pd.testing.assert_frame_equal(sy.monitoring.drift("train@1", data(100, seed=3)), expected)


def test_without_a_workspace_a_reference_name_is_refused() -> None:
    service = MonitoringService()
    with pytest.raises(InvalidInputError, match="no workspace"):
        service.drift("train@1", data(10))
    with pytest.raises(InvalidInputError, match="cannot read"):
        service.drift(data(10), [1, 2, 3])
    assert service.drift(data(50), data(50, seed=1)).columns[0].column == "x"
