"""LightGBM boosters and scikit-learn wrappers, in LightGBM's own text format.

Only the booster is saved. For an ``LGBMClassifier`` the package records its classes,
so the loaded model keeps classifier semantics: ``predict_proba`` gives one column
per class and ``predict`` the most likely class label. ``raw`` is the ``Booster``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.models.flavors.base import Flavor, Saved, class_labels, features, pick_from_classes

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.models.models import ModelDescriptor

FILE = "model.txt"


class LightGBMFlavor(Flavor):
    name = "lightgbm"
    distributions = ("lightgbm", "numpy")

    def save(self, model: Any, folder: Path, extra: Mapping[str, Any]) -> Saved:
        import lightgbm as lgb

        from shipyard.models.flavors.sklearn import task_of

        if isinstance(model, lgb.Booster):
            model.save_model(folder / FILE)
            return Saved(None, None, dict(extra))
        if not isinstance(model, lgb.LGBMModel):
            raise InvalidInputError(
                f"the lightgbm flavor saves a Booster or an LGBMModel, got {type(model).__name__}"
            )
        model.booster_.save_model(folder / FILE)
        task = task_of(model)
        return Saved(task, class_labels(model) if task == "classifier" else None, dict(extra))

    def load(self, folder: Path, descriptor: ModelDescriptor, trust: bool) -> Any:
        import lightgbm as lgb

        return lgb.Booster(model_file=folder / FILE)

    def predict(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        if descriptor.task == "classifier":
            return pick_from_classes(self.predict_proba(raw, frame, descriptor), descriptor.classes)
        return raw.predict(_data(raw, frame))

    def predict_proba(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        import numpy as np

        proba = np.asarray(raw.predict(_data(raw, frame)))
        if proba.ndim == 1:  # binary: the probability of the second class
            proba = np.column_stack([1.0 - proba, proba])
        return proba


def _data(booster: Any, frame: pd.DataFrame) -> Any:
    """The frame when the booster knows its columns by these names, else a plain array."""
    return frame if list(booster.feature_name()) == [str(c) for c in frame.columns] else features(frame)
