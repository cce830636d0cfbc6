"""The model service: packages as run artifacts, verified loads, registered URIs, ONNX export, the SDK."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard as sy
from shipyard.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
)
from shipyard.models.package import DESCRIPTOR_NAME, ModelDescriptor
from shipyard.models.service import ModelService
from shipyard.models.signature import ColumnSpec, Signature
from shipyard.models.uris import ModelRef, run_ref
from shipyard.storage.digests import digest_bytes
from shipyard.workspace import Workspace
from tests.unit.models.pyfunc_models import Broken, Threshold, halve


@pytest.fixture
def classifier(X: pd.DataFrame, y: pd.Series) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(X, y)


@pytest.fixture
def uri(models: ModelService, run_id: str, classifier: LogisticRegression, X: pd.DataFrame) -> str:
    return models.log_model(run_id, classifier, input_example=X.head())


def blob_path(home: Path, digest: str) -> Path:
    hex_ = digest.partition(":")[2]
    return home / "artifacts" / "cas" / hex_[:2] / hex_[2:]


def cached(models: ModelService, uri: str, relpath: str) -> Path:
    return models.cache_dir / models.package_digest(uri).partition(":")[2] / relpath


def test_package_is_recorded_as_run_artifacts_descriptor_included(
    models: ModelService, run_id: str, uri: str
) -> None:
    artifacts = {a.path: a for a in models.tracking.list_artifacts(run_id)}
    assert set(artifacts) == {"model/model.skops", f"model/{DESCRIPTOR_NAME}"}
    descriptor_blob = models.content.get_bytes(artifacts[f"model/{DESCRIPTOR_NAME}"].digest)
    raw = yaml.safe_load(descriptor_blob)
    assert raw["flavor"] == "sklearn" and raw["format"] == 1
    assert raw["files"] == {"model.skops": artifacts["model/model.skops"].digest}
    assert models.package_digest(uri) == digest_bytes(descriptor_blob)
    assert models.descriptor(uri) == ModelDescriptor.from_yaml(descriptor_blob)
    assert models.run_of(uri) == (run_id, "model")


def test_load_checks_input_against_the_signature(models: ModelService, uri: str, X: pd.DataFrame) -> None:
    loaded = models.load(uri)
    with pytest.raises(InvalidInputError, match="missing columns: 'score'") as info:
        loaded.predict(X.drop(columns="score"))
    assert info.value.details["missing"] == ["score"]
    wrong = X.assign(age=X["age"].astype(str))
    with pytest.raises(InvalidInputError, match=r"'age' \(expected int, got string\)"):
        loaded.predict_proba(wrong)
    floats = X.assign(age=X["age"] + 0.5)
    with pytest.raises(InvalidInputError, match="'age'"):
        loaded.predict(floats)


def test_the_same_name_twice_in_a_run_is_a_conflict(
    models: ModelService, run_id: str, uri: str, classifier: LogisticRegression
) -> None:
    with pytest.raises(ConflictError, match="'model'"):
        models.log_model(run_id, classifier)
    other = models.log_model(run_id, classifier, name="models/second")
    assert other == f"runs:/{run_id}/models/second"
    assert models.load(other).signature is None  # no example, no signature: input is not checked


def test_a_model_that_cannot_predict_on_its_example_is_not_logged(
    models: ModelService, run_id: str, classifier: LogisticRegression, X: pd.DataFrame
) -> None:
    with pytest.raises(InvalidInputError, match="this model always fails"):
        models.log_model(run_id, sy.pyfunc(Broken()), input_example=X.head())
    given = {"inputs": [{"name": "age", "dtype": "float"}, {"name": "city", "dtype": "string"}]}
    with pytest.raises(InvalidInputError, match="missing columns: 'city'"):
        models.log_model(run_id, classifier, signature=given, input_example=X.head())
    assert models.tracking.list_artifacts(run_id) == []
    uri = models.log_model(run_id, classifier, signature={"inputs": given["inputs"][:1]})
    assert models.descriptor(uri).signature == Signature([ColumnSpec("age", "float")])


def test_missing_packages_and_runs(models: ModelService, run_id: str, uri: str) -> None:
    with pytest.raises(NotFoundError, match="no model package"):
        models.load(f"runs:/{run_id}/elsewhere")
    with pytest.raises(NotFoundError):
        models.load("runs:/" + "0" * 32 + "/model")


def test_a_tampered_cached_file_is_fetched_again(models: ModelService, uri: str, X: pd.DataFrame) -> None:
    expected = models.load(uri).predict(X)
    file = cached(models, uri, "model.skops")
    good = file.read_bytes()
    file.write_bytes(b"not the model")
    np.testing.assert_array_equal(models.load(uri).predict(X), expected)
    assert file.read_bytes() == good


def test_a_tampered_stored_blob_is_refused(models: ModelService, run_id: str, uri: str, home: Path) -> None:
    models.load(uri)  # fills the cache
    digest = models.descriptor(uri).files["model.skops"]
    blob = blob_path(home, digest)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes() + b"tampered")
    cached(models, uri, "model.skops").write_bytes(blob.read_bytes())
    with pytest.raises(InvalidInputError, match="refusing to load") as info:
        models.load(uri)
    assert info.value.details["file"] == "model.skops"
    assert info.value.details["expected"] == digest


def test_a_tampered_descriptor_is_refused(models: ModelService, uri: str, home: Path) -> None:
    package = models.package_digest(uri)
    blob = blob_path(home, package)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes().replace(b"sklearn", b"pyfunc!"))
    with pytest.raises(InvalidInputError, match=DESCRIPTOR_NAME):
        models.load(uri, trust=True)


def test_a_file_missing_from_the_store_is_not_found(models: ModelService, uri: str, home: Path) -> None:
    digest = models.descriptor(uri).files["model.skops"]
    blob_path(home, digest).unlink()
    with pytest.raises(NotFoundError):
        models.load(uri)


def test_skops_refuses_foreign_types_without_trust(
    models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series
) -> None:
    from sklearn.preprocessing import FunctionTransformer

    model = make_pipeline(FunctionTransformer(halve), LogisticRegression()).fit(X, y)
    uri = models.log_model(run_id, model)
    with pytest.raises(PermissionDenied, match=r"pyfunc_models\.halve") as info:
        models.load(uri)
    assert info.value.details["untrusted_types"] == ["tests.unit.models.pyfunc_models.halve"]
    np.testing.assert_array_equal(models.load(uri, trust=True).predict(X), model.predict(X))


def test_pyfunc_without_trust_is_refused_before_any_download(
    models: ModelService, run_id: str, X: pd.DataFrame
) -> None:
    uri = models.log_model(run_id, sy.pyfunc(Threshold(0.0)), "fn")
    with pytest.raises(PermissionDenied, match="pickle"):
        models.load(uri)
    assert not cached(models, uri, "model.pkl").exists()
    assert models.load(uri, trust=True).predict(X).shape == (len(X),)


def test_registered_uris_go_through_the_resolver(
    workspace: Workspace, run_id: str, uri: str, X: pd.DataFrame
) -> None:
    seen: list[ModelRef] = []

    def resolve(ref: ModelRef) -> tuple[str, str]:
        seen.append(ref)
        return run_id, "model"

    service = ModelService(workspace.tracking, workspace.content, workspace.models.cache_dir, resolve)
    expected = service.load(uri).predict(X)
    for text in ("models:/churn/1", "models:/churn@champion", "churn@champion", "churn:1", "churn@1"):
        np.testing.assert_array_equal(service.load(text).predict(X), expected)
        assert service.package_digest(text) == service.package_digest(uri)
    assert [str(r) for r in seen[:3]] == ["models:/churn/1", "models:/churn/1", "models:/churn@champion"]
    bare = ModelService(workspace.tracking, workspace.content, workspace.models.cache_dir)
    with pytest.raises(InvalidInputError, match="no model registry"):
        bare.load("churn@champion")


def test_export_onnx_predicts_like_the_source(
    models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series
) -> None:
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    source = models.log_model(run_id, model, "sk", input_example=X.head())
    target = models.tracking.create_run("exports").id
    exported = models.export_onnx(source, target)
    assert exported == str(run_ref(target, "model-onnx"))
    onnx_model = models.load(exported)
    assert (onnx_model.flavor, onnx_model.task, onnx_model.classes) == ("onnx", "classifier", [0, 1])
    assert onnx_model.signature == models.load(source).signature
    assert onnx_model.descriptor.extra["source_package"] == models.package_digest(source)
    np.testing.assert_allclose(onnx_model.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(onnx_model.predict(X), model.predict(X))
    with pytest.raises(InvalidInputError, match="only scikit-learn"):
        models.export_onnx(exported, target, name="again")


def test_export_onnx_with_text_columns(
    models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series
) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    data = X.assign(city=np.where(X["score"] > 0, "Oslo", "Rome"))
    prep = ColumnTransformer(
        [("num", StandardScaler(), ["age", "income"]), ("cat", OneHotEncoder(), ["city"])]
    )
    model = make_pipeline(prep, LogisticRegression()).fit(data, y)
    source = models.log_model(run_id, model, "sk", input_example=data.head())
    onnx_model = models.load(models.export_onnx(source, run_id))
    assert onnx_model.descriptor.extra["input"] == "columns"
    np.testing.assert_allclose(onnx_model.predict_proba(data), model.predict_proba(data), rtol=0, atol=1e-5)


def test_run_log_model_and_the_sdk(
    workspace: Workspace, classifier: LogisticRegression, X: pd.DataFrame
) -> None:
    with sy.start_run(experiment="sdk") as run:
        uri = run.log_model(classifier, input_example=X.head())
        second = sy.models.log_model(sy.pyfunc(Threshold(0.5)), "rule")
    assert uri == f"runs:/{run.id}/model" and second == f"runs:/{run.id}/rule"
    np.testing.assert_array_equal(sy.models.load(uri).predict(X), classifier.predict(X))
    with pytest.raises(PermissionDenied):
        sy.models.load(second)
    assert sy.models.descriptor(uri).flavor == "sklearn"
    with pytest.raises(InvalidInputError, match="no active run"):
        sy.models.log_model(classifier)


def test_run_without_a_model_service_says_so(workspace: Workspace, classifier: LogisticRegression) -> None:
    from shipyard.tracking.buffer import MetricBuffer
    from shipyard.tracking.run import Run
    from shipyard.tracking.service import TrackingService

    bare = TrackingService(workspace.tracking.store, content=workspace.content)
    record = bare.create_run("bare")
    buffer = MetricBuffer(bare, 1000, 100, 60.0)
    run = Run(bare, record, buffer)
    with pytest.raises(InvalidInputError, match="model logging is not available"):
        run.log_model(classifier)
    run.end()
    buffer.close()


def test_the_workspace_resolves_registered_versions(
    workspace: Workspace, uri: str, classifier: LogisticRegression, X: pd.DataFrame
) -> None:
    workspace.registry.register("churn", uri)
    for text in ("churn:1", "churn@1", "models:/churn/1"):
        np.testing.assert_array_equal(workspace.models.load(text).predict(X), classifier.predict(X))
        assert workspace.models.package_digest(text) == workspace.models.package_digest(uri)
    with pytest.raises(NotFoundError):
        workspace.models.load("churn:2")
