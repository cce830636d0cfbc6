"""Batch scoring of a Parquet file: equal to ``model.predict`` on the same rows, keys kept, version
recorded, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.serving.service import ServingService
from shipyard.workspace import Workspace

from .conftest import FEATURES, make_frame


@pytest.fixture
def scoring_input(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    frame = make_frame(1000, 7)
    frame.insert(0, "id", np.arange(1000) * 3)
    frame["note"] = [f"n{i % 7}" for i in range(1000)]
    path = tmp_path / "in.parquet"
    frame.to_parquet(path, index=False, row_group_size=300)
    return path, frame


def test_batch_scoring_equals_model_predict(
    workspace: Workspace,
    serving: ServingService,
    fraud: list[int],
    scoring_input: tuple[Path, pd.DataFrame],
    tmp_path: Path,
) -> None:
    path, frame = scoring_input
    seen: list[tuple[int, int]] = []
    result = serving.predict_batch(
        "fraud@production",
        path,
        tmp_path / "out" / "scored.parquet",
        chunk_size=128,
        progress=lambda done, total: seen.append((done, total)),
    )
    out = pq.read_table(result.output)
    model = workspace.models.load(workspace.registry.resolve("fraud@production").model_uri)
    assert out.column_names == ["id", "fraud", "note", "prediction", "probabilities", "model_version"]
    assert out.column("id").to_pylist() == frame["id"].tolist()
    assert out.column("note").to_pylist() == frame["note"].tolist()
    np.testing.assert_array_equal(out.column("prediction").to_numpy(), model.predict(frame[FEATURES]))
    np.testing.assert_allclose(
        np.array(out.column("probabilities").to_pylist()), model.predict_proba(frame[FEATURES])
    )
    assert set(out.column("model_version").to_pylist()) == {"fraud:1"}
    metadata = pq.read_schema(result.output).metadata
    assert metadata[b"shipyard.model_version"] == b"fraud:1"
    assert metadata[b"shipyard.package_digest"].decode() == model.package_digest
    assert (result.rows, result.chunks, result.model_version) == (1000, 8, "fraud:1")
    assert seen[-1] == (1000, 1000) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_keep_chooses_the_key_columns_and_versions_can_be_pinned(
    fraud: list[int], scoring_input: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, _ = scoring_input
    result = sy.serving.predict_batch("fraud:3", path, tmp_path / "o.parquet", keep=["id"])
    out = pq.read_table(result.output)
    assert out.column_names == ["id", "prediction", "probabilities", "model_version"]
    assert set(out.column("model_version").to_pylist()) == {"fraud:3"}


def test_a_run_uri_works_without_the_registry(
    workspace: Workspace,
    serving: ServingService,
    fraud: list[int],
    scoring_input: tuple[Path, pd.DataFrame],
    tmp_path: Path,
) -> None:
    path, _ = scoring_input
    uri = workspace.registry.get_version("fraud", 2).model_uri
    result = serving.predict_batch(uri, path, tmp_path / "o.parquet", keep=[])
    assert result.model_version == uri
    assert pq.read_table(result.output).column_names == ["prediction", "probabilities", "model_version"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"keep": ["missing"]}, "--keep names"),
        ({"keep": ["id"], "executor": "spark"}, "unknown executor"),
        ({"chunk_size": 0}, "chunk size"),
    ],
)
def test_bad_options_are_refused(
    serving: ServingService,
    fraud: list[int],
    scoring_input: tuple[Path, pd.DataFrame],
    tmp_path: Path,
    change: dict[str, object],
    message: str,
) -> None:
    path, _ = scoring_input
    with pytest.raises(InvalidInputError, match=message):
        serving.predict_batch("fraud@production", path, tmp_path / "o.parquet", **change)  # type: ignore[arg-type]
    assert not (tmp_path / "o.parquet").exists()


def test_bad_inputs_are_refused(serving: ServingService, fraud: list[int], tmp_path: Path) -> None:
    frame = make_frame(50, 1)
    frame.drop(columns=["age"]).to_parquet(tmp_path / "no_age.parquet")
    with pytest.raises(InvalidInputError, match="'age'"):
        serving.predict_batch("fraud@production", tmp_path / "no_age.parquet", tmp_path / "o.parquet")
    frame.head(0).to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(InvalidInputError, match="no rows"):
        serving.predict_batch("fraud@production", tmp_path / "empty.parquet", tmp_path / "o.parquet")
    with pytest.raises(InvalidInputError, match="output must not be the input"):
        serving.predict_batch("fraud@production", tmp_path / "no_age.parquet", tmp_path / "no_age.parquet")
    with pytest.raises(InvalidInputError, match="no such file"):
        serving.predict_batch("fraud@production", tmp_path / "missing.parquet", tmp_path / "o.parquet")
    assert not (tmp_path / "o.parquet").exists()


def test_a_chunk_failing_after_others_were_written_leaves_nothing(
    serving: ServingService, fraud: list[int], tmp_path: Path
) -> None:
    frame = make_frame(100, 1)
    frame.loc[80, "amount"] = np.nan  # the model refuses NaN: the second chunk fails
    frame.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(ValueError, match="NaN"):
        serving.predict_batch(
            "fraud@production", tmp_path / "in.parquet", tmp_path / "o.parquet", chunk_size=50
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == [".shipyard", "in.parquet"]
