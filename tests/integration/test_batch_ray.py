"""Batch scoring on a real local Ray cluster (``ray.init(num_cpus=2)``): the same output as the
local executor and as ``model.predict`` on the same rows.

Without Ray installed the tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from shipyard.core.config import load_settings
from shipyard.workspace import Workspace
from tests.conftest import service_missing
from tests.unit.serving.conftest import FEATURES, log_model, make_frame

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    try:
        import ray
    except ImportError as exc:
        service_missing("Ray", f"ray is not installed: pip install 'shipyard[ray]' ({exc})")
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)
    else:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    ws = Workspace(load_settings())
    ws.registry.register("fraud", log_model(ws, 1))
    ws.registry.promote("fraud", 1, "production")
    yield ws
    ws.close()


def test_batch_scoring_on_ray_equals_local_and_model_predict(
    ray_cluster: Any, workspace: Workspace, tmp_path: Path
) -> None:
    frame = make_frame(2_000, 11)
    frame.insert(0, "id", np.arange(len(frame)))
    frame.to_parquet(tmp_path / "in.parquet", index=False, row_group_size=500)
    serving = workspace.serving
    on_ray = serving.predict_batch(
        "fraud@production", tmp_path / "in.parquet", tmp_path / "ray.parquet", executor="ray", chunk_size=250
    )
    local = serving.predict_batch(
        "fraud@production", tmp_path / "in.parquet", tmp_path / "local.parquet", chunk_size=250
    )
    assert (on_ray.rows, on_ray.chunks) == (2_000, 8)
    ray_table, local_table = pq.read_table(on_ray.output), pq.read_table(local.output)
    assert ray_table.equals(local_table)
    assert ray_table.column("id").to_pylist() == list(range(2_000)), "chunks written in input order"
    model = workspace.models.load(workspace.registry.resolve("fraud@production").model_uri)
    np.testing.assert_array_equal(ray_table.column("prediction").to_numpy(), model.predict(frame[FEATURES]))
    np.testing.assert_allclose(
        np.array(ray_table.column("probabilities").to_pylist()), model.predict_proba(frame[FEATURES])
    )
    assert pq.read_schema(on_ray.output).metadata[b"shipyard.model_version"] == b"fraud:1"
