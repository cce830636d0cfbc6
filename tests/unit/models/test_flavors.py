"""Every flavor round-trips: log, load (digests verified), and the same predictions as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import shipyard as sy
from shipyard.core.errors import InvalidInputError, PermissionDenied
from shipyard.models.flavors import detect_flavor
from shipyard.models.service import ModelService
from tests.unit.models.pyfunc_models import Threshold
from tests.unit.models.torch_modules import Plain, TinyNet


def test_sklearn_logistic_regression(
    models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series
) -> None:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500).fit(X, y)
    uri = models.log_model(run_id, model, input_example=X.head(5))
    assert uri == f"runs:/{run_id}/model"
    loaded = models.load(uri)
    assert (loaded.flavor, loaded.task, loaded.classes) == ("sklearn", "classifier", [0, 1])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=0, atol=0)
    assert loaded.signature is not None and loaded.signature.outputs == {"dtype": "int", "shape": [-1]}
    assert {"scikit-learn", "skops", "python", "shipyard"} <= set(loaded.descriptor.framework_versions)
    assert set(loaded.descriptor.files) == {"model.skops"}


def test_sklearn_pipeline_fitted_on_an_array(
    models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series
) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    array = X.to_numpy(dtype=float)
    model = make_pipeline(StandardScaler(), Ridge()).fit(array, y)
    loaded = models.load(models.log_model(run_id, model, "pipe", input_example=array[:3]))
    assert loaded.task == "regressor" and loaded.classes is None
    # The same numbers up to rounding: the rows reach BLAS laid out by column, not by row.
    np.testing.assert_allclose(loaded.predict(array), model.predict(array), rtol=1e-12, atol=0)
    np.testing.assert_allclose(loaded.predict(pd.DataFrame(array)), model.predict(array), rtol=1e-12, atol=0)
    with pytest.raises(InvalidInputError, match="not a classifier"):
        loaded.predict_proba(array)


def test_sklearn_pipeline_on_named_columns(
    models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series
) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    loaded = models.load(models.log_model(run_id, model, input_example=X.head()))
    shuffled = X[["score", "age", "income"]]  # columns in another order are put back in order
    np.testing.assert_array_equal(loaded.predict(shuffled), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(shuffled), model.predict_proba(X))


def test_xgboost_classifier(models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series) -> None:
    import xgboost as xgb

    model = xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(X, y)
    loaded = models.load(models.log_model(run_id, model, input_example=X.head()))
    assert (loaded.flavor, loaded.task, loaded.classes) == ("xgboost", "classifier", [0, 1])
    assert isinstance(loaded.raw, xgb.XGBClassifier)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_xgboost_booster(models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series) -> None:
    import xgboost as xgb

    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), 5)
    loaded = models.load(models.log_model(run_id, booster, input_example=X.head()))
    assert loaded.task is None and isinstance(loaded.raw, xgb.Booster)
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(xgb.DMatrix(X)))
    assert loaded.signature is not None and loaded.signature.outputs == {"dtype": "float", "shape": [-1]}


def test_lightgbm_classifier_keeps_its_string_classes(
    models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series
) -> None:
    import lightgbm as lgb

    labels = np.where(y == 1, "churn", "stay")
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, labels)
    loaded = models.load(models.log_model(run_id, model, input_example=X.head()))
    assert (loaded.flavor, loaded.task, loaded.classes) == ("lightgbm", "classifier", ["churn", "stay"])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-12)


def test_lightgbm_multiclass_on_an_array(models: ModelService, run_id: str, X: pd.DataFrame) -> None:
    import lightgbm as lgb

    array = X.to_numpy(dtype=float)
    target = np.digitize(array[:, 2], [-0.5, 0.5])  # three classes
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(array, target)
    loaded = models.load(models.log_model(run_id, model, input_example=array[:4]))
    np.testing.assert_array_equal(loaded.predict(array), model.predict(array))
    np.testing.assert_allclose(loaded.predict_proba(array), model.predict_proba(array), rtol=0, atol=1e-12)
    assert loaded.predict_proba(array).shape == (len(array), 3)


def test_onnx_from_skl2onnx(models: ModelService, run_id: str, X: pd.DataFrame, y: pd.Series) -> None:
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    array = X.to_numpy(dtype=np.float32)
    proto = to_onnx(LogisticRegression(max_iter=500).fit(array, y), array[:1], options={"zipmap": False})
    expected = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"X": array}
    )
    loaded = models.load(models.log_model(run_id, proto, input_example=X.head()))
    assert (loaded.flavor, loaded.task, loaded.classes) == ("onnx", "classifier", [0, 1])
    np.testing.assert_array_equal(loaded.predict(X), expected[0])
    np.testing.assert_array_equal(loaded.predict_proba(X), expected[1])
    as_bytes = models.load(models.log_model(run_id, proto.SerializeToString(), "bytes"))
    np.testing.assert_array_equal(as_bytes.predict(array), expected[0])


def test_onnx_refuses_bytes_that_are_not_a_model(models: ModelService, run_id: str) -> None:
    with pytest.raises(InvalidInputError, match="not a valid ONNX model"):
        models.log_model(run_id, b"\x00garbage")


def test_torch_module(models: ModelService, run_id: str, X: pd.DataFrame) -> None:
    torch.manual_seed(0)
    net = TinyNet(n_inputs=3, width=16)
    with torch.no_grad():
        expected = net(torch.tensor(X.to_numpy(dtype=np.float32))).numpy().ravel()
    loaded = models.load(models.log_model(run_id, net, input_example=X.head()))
    assert loaded.flavor == "torch" and isinstance(loaded.raw, TinyNet)
    assert loaded.descriptor.extra["class"] == "tests.unit.models.torch_modules:TinyNet"
    assert loaded.descriptor.extra["init_kwargs"] == {"n_inputs": 3, "width": 16}
    assert set(loaded.descriptor.files) == {"model.safetensors"}
    np.testing.assert_array_equal(loaded.predict(X), expected)
    assert loaded.predict(X).shape == (len(X),)


def test_torch_init_kwargs_through_extra(models: ModelService, run_id: str, X: pd.DataFrame) -> None:
    net = Plain(3)
    uri = models.log_model(run_id, net, extra={"init_kwargs": {"n_inputs": 3}})
    with torch.no_grad():
        expected = net(torch.tensor(X.to_numpy(dtype=np.float32))).numpy()
    np.testing.assert_array_equal(models.load(uri).predict(X.to_numpy(dtype=float)), expected)


def test_torch_without_constructor_arguments_is_refused_with_a_hint(
    models: ModelService, run_id: str
) -> None:
    with pytest.raises(InvalidInputError, match="init_kwargs") as info:
        models.log_model(run_id, Plain(3))
    assert "n_inputs" in info.value.message
    with pytest.raises(InvalidInputError, match="plain values"):
        models.log_model(run_id, Plain(3), extra={"init_kwargs": {"n_inputs": object()}})
    assert models.tracking.list_artifacts(run_id) == [], "nothing of a refused model is recorded"


def test_torch_class_in_main_is_refused(models: ModelService, run_id: str) -> None:
    namespace: dict[str, object] = {"torch": torch, "__name__": "__main__"}
    exec(  # a class defined the way a script or notebook defines it
        "class Net(torch.nn.Module):\n    def forward(self, x):\n        return x\n", namespace
    )
    with pytest.raises(InvalidInputError, match="__main__"):
        models.log_model(run_id, namespace["Net"]())  # type: ignore[operator]

    class Local(torch.nn.Module):
        pass

    with pytest.raises(InvalidInputError, match="a function"):
        models.log_model(run_id, Local())


def test_pyfunc_needs_trust_and_then_round_trips(models: ModelService, run_id: str, X: pd.DataFrame) -> None:
    model = Threshold(cut=0.2)
    uri = models.log_model(run_id, sy.pyfunc(model), input_example=X.head())
    with pytest.raises(PermissionDenied, match="trust=True"):
        models.load(uri)
    loaded = models.load(uri, trust=True)
    assert (loaded.flavor, loaded.task, loaded.classes) == ("pyfunc", "classifier", [0, 1])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_detection(X: pd.DataFrame, y: pd.Series) -> None:
    import lightgbm as lgb
    import xgboost as xgb
    from sklearn.linear_model import LinearRegression

    assert detect_flavor(LinearRegression()) == "sklearn"
    assert detect_flavor(xgb.XGBRegressor()) == "xgboost"
    assert detect_flavor(lgb.LGBMRegressor()) == "lightgbm"
    assert detect_flavor(TinyNet()) == "torch"
    assert detect_flavor(sy.pyfunc(Threshold(0.0))) == "pyfunc"
    with pytest.raises(InvalidInputError, match=r"sy\.pyfunc"):
        detect_flavor(Threshold(0.0))
    with pytest.raises(InvalidInputError, match="no predict method"):
        detect_flavor(object())
    with pytest.raises(InvalidInputError, match="predict method"):
        sy.pyfunc(object())
