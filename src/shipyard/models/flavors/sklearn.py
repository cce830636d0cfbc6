"""scikit-learn estimators and pipelines, saved with skops (no pickle).

Loading trusts only types from scikit-learn, NumPy and SciPy; a package holding any
other type (a custom transformer, a function of another library) is refused unless
the caller passes ``trust=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError, PermissionDenied
from shipyard.models.flavors.base import Flavor, Saved, class_labels, features, wants_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from shipyard.models.models import ModelDescriptor

FILE = "model.skops"
TRUSTED_LIBRARIES = ("sklearn", "numpy", "scipy")


def task_of(model: Any) -> str | None:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model):
        return "classifier"
    return "regressor" if is_regressor(model) else None


class SklearnFlavor(Flavor):
    name = "sklearn"
    distributions = ("scikit-learn", "skops", "numpy", "scipy")

    def save(self, model: Any, folder: Path, extra: Mapping[str, Any]) -> Saved:
        import skops.io
        from sklearn.base import BaseEstimator

        if not isinstance(model, BaseEstimator):
            raise InvalidInputError(
                f"the sklearn flavor saves scikit-learn estimators, got {type(model).__name__}"
            )
        skops.io.dump(model, folder / FILE)
        task = task_of(model)
        return Saved(task, class_labels(model) if task == "classifier" else None, dict(extra))

    def load(self, folder: Path, descriptor: ModelDescriptor, trust: bool) -> Any:
        import skops.io

        path = folder / FILE
        untrusted = skops.io.get_untrusted_types(file=path)
        refused = [t for t in untrusted if t.partition(".")[0] not in TRUSTED_LIBRARIES]
        if refused and not trust:
            raise PermissionDenied(
                "this scikit-learn package holds types from outside scikit-learn, NumPy and SciPy: "
                f"{', '.join(sorted(refused))}; load it with trust=True only if you trust who made it",
                details={"untrusted_types": sorted(refused)},
            )
        return skops.io.load(path, trusted=list(untrusted))

    def predict(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        return raw.predict(frame if wants_frame(raw) else features(frame))

    def predict_proba(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        return raw.predict_proba(frame if wants_frame(raw) else features(frame))

    def predict_array(self, raw: Any, matrix: np.ndarray[Any, Any], proba: bool) -> Any:
        if wants_frame(raw):  # fitted on named columns: it checks the names
            return None
        return raw.predict_proba(matrix) if proba else raw.predict(matrix)
