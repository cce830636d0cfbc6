"""Pipelines on a real local Ray cluster (``ray.init(num_cpus=2)``): the same outputs as the local
executor, and the same failure handling. Ray takes seconds to start, so these tests are few.

Without Ray installed the tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.config import load_settings
from shipyard.pipelines.models import PipelineStatus, StepStatus
from shipyard.pipelines.service import PipelineService
from shipyard.workspace import Workspace
from tests.conftest import service_missing
from tests.unit.pipelines import flows

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
def service(home: Path) -> Iterator[PipelineService]:
    workspace = Workspace(load_settings())
    yield workspace.pipelines
    workspace.close()


def outputs(service: PipelineService, run_id: str) -> dict[str, Any]:
    return {s.node: s.outputs for s in service.list_steps(run_id)}


def test_the_same_pipeline_makes_the_same_outputs_on_ray_and_locally(
    ray_cluster: Any, service: PipelineService
) -> None:
    on_ray = service.run(flows.tabular, {"rows": 30}, executor="ray", cache=False)
    locally = service.run(flows.tabular, {"rows": 30}, executor="local", cache=False)
    assert on_ray.status is locally.status is PipelineStatus.SUCCEEDED
    assert on_ray.executor == "ray"
    assert outputs(service, on_ray.id) == outputs(service, locally.id)
    assert service.output(on_ray.id, "rows") == 30
    branched = service.run(flows.arithmetic, {"n": 6}, executor="ray", cache=False)
    assert service.output(branched.id) == service.output(service.run(flows.arithmetic, {"n": 6}).id)


def test_retries_timeouts_and_skips_on_ray(
    ray_cluster: Any, service: PipelineService, tmp_path: Path
) -> None:
    run = service.run(flows.unreliable, {"counter": str(tmp_path / "c"), "failures": 1}, executor="ray")
    assert run.status is PipelineStatus.SUCCEEDED
    assert service.list_steps(run.id)[0].attempts == 2
    slow = service.run(flows.slow, {"seconds": 60.0}, executor="ray")
    steps = {s.node: s for s in service.list_steps(slow.id)}
    assert slow.status is PipelineStatus.FAILED
    assert steps["sleepy"].status is StepStatus.FAILED and steps["sleepy"].attempts == 2
    assert "timed out after 0.5 s" in (steps["sleepy"].error or "")
    assert steps["after"].status is StepStatus.SUCCEEDED
