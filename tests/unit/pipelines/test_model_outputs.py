"""A step that returns a fitted model: stored as a model package, read back by the next step,
loadable and registrable from the step's tracked run."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.materializers import materialize
from shipyard.pipelines.model_outputs import ModelMaterializer, pack, unpack
from shipyard.pipelines.models import PipelineStatus, StepStatus
from shipyard.pipelines.service import PipelineService
from shipyard.workspace import Workspace

from . import model_flows


def test_a_fitted_model_passes_to_the_next_step_and_is_a_registrable_package(
    workspace: Workspace, service: PipelineService
) -> None:
    run = service.run(model_flows.train, {"n": 200})
    assert run.status is PipelineStatus.SUCCEEDED
    assert service.output(run.id) > 0.8
    steps = {s.node: s for s in service.list_steps(run.id)}
    assert steps["fit"].outputs["output"].materializer == "model@1"
    model = service.output(run.id, "fit")
    features, labels = model_flows.xy(200)
    expected = LogisticRegression().fit(features, labels)
    assert isinstance(model, LogisticRegression)
    assert np.allclose(model.coef_, expected.coef_)

    child = steps["fit"].tracking_run_id or ""
    paths = {a.path for a in workspace.tracking.list_artifacts(child)}
    assert {"outputs/output.zip", "outputs/output/shipyard-model.yaml", "outputs/output/model.skops"} <= paths
    loaded = workspace.models.load(f"runs:/{child}/outputs/output")
    assert loaded.flavor == "sklearn" and np.array_equal(
        loaded.raw.predict(features), expected.predict(features)
    )
    version = workspace.registry.register("from-a-step", f"runs:/{child}/outputs/output")
    assert version.run_id == child


def test_a_cached_model_step_is_reused(service: PipelineService) -> None:
    first = service.run(model_flows.train, {"n": 120})
    second = service.run(model_flows.train, {"n": 120})
    steps = {s.node: s for s in service.list_steps(second.id)}
    assert steps["fit"].status is StepStatus.CACHED and steps["accuracy"].status is StepStatus.CACHED
    assert service.output(second.id) == service.output(first.id)


def test_a_pickled_model_is_not_a_step_output(service: PipelineService) -> None:
    run = service.run(model_flows.unsafe)
    [step] = service.list_steps(run.id)
    assert step.status is StepStatus.FAILED and step.attempts == 1
    assert "returned a shipyard.models.flavors.pyfunc.pyfunc" in (step.error or "")


def test_only_models_of_safe_flavors_are_handled() -> None:
    handles = ModelMaterializer().handles
    assert handles(LogisticRegression())
    assert not any(handles(v) for v in (b"onnx?", {"a": 1}, np.zeros(2), "text", None))
    materializer, data = materialize(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))
    assert materializer.key == "model@1" and zipfile.is_zipfile(io.BytesIO(data))
    names = [path for path, _ in materializer.artifacts(data)]
    assert names == sorted(names) and "shipyard-model.yaml" in names


def test_packing_is_stable_and_unpacking_refuses_escaping_names(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    (tmp_path / "g.txt").write_text("y")
    assert pack(tmp_path) == pack(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.txt", "no")
    with pytest.raises(InvalidInputError):
        unpack(buffer.getvalue(), tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_a_tampered_package_is_refused(tmp_path: Path) -> None:
    _, data = materialize(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))
    folder = unpack(data, tmp_path / "pkg")
    (folder / "model.skops").write_bytes(b"changed")
    with pytest.raises(InvalidInputError, match="does not match"):
        ModelMaterializer().load(pack(folder))
