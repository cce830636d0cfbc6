"""XGBoost boosters and scikit-learn wrappers, in XGBoost's own UBJSON format.

A wrapper (``XGBClassifier``, ``XGBRegressor``, ...) is rebuilt as the same class,
so a classifier keeps ``predict_proba`` and its classes; a bare ``Booster`` predicts
what ``Booster.predict`` gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.models.flavors.base import Flavor, Saved, class_labels, features, wants_frame

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.models.models import ModelDescriptor

FILE = "model.ubj"


class XGBoostFlavor(Flavor):
    name = "xgboost"
    distributions = ("xgboost", "numpy")

    def save(self, model: Any, folder: Path, extra: Mapping[str, Any]) -> Saved:
        import xgboost as xgb

        from shipyard.models.flavors.sklearn import task_of

        if isinstance(model, xgb.Booster):
            model.save_model(folder / FILE)
            return Saved(None, None, {**extra, "wrapper": None})
        if not isinstance(model, xgb.XGBModel):
            raise InvalidInputError(
                f"the xgboost flavor saves a Booster or an XGBModel, got {type(model).__name__}"
            )
        model.save_model(folder / FILE)
        task = task_of(model)
        classes = class_labels(model) if task == "classifier" else None
        return Saved(task, classes, {**extra, "wrapper": type(model).__name__})

    def load(self, folder: Path, descriptor: ModelDescriptor, trust: bool) -> Any:
        import xgboost as xgb

        wrapper = descriptor.extra.get("wrapper")
        if wrapper is None:
            booster = xgb.Booster()
            booster.load_model(folder / FILE)
            return booster
        cls = getattr(xgb, str(wrapper), None)
        if not (isinstance(cls, type) and issubclass(cls, xgb.XGBModel)):
            raise InvalidInputError(f"unknown XGBoost model class {wrapper!r} in the package")
        model = cls()
        model.load_model(folder / FILE)
        return model

    def predict(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        import xgboost as xgb

        if isinstance(raw, xgb.Booster):
            data = frame if raw.feature_names is not None else features(frame)
            return raw.predict(xgb.DMatrix(data))
        return raw.predict(frame if wants_frame(raw) else features(frame))

    def predict_proba(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        return raw.predict_proba(frame if wants_frame(raw) else features(frame))
