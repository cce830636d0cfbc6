"""The seam every flavor implements: save an object into a folder, load it back, predict.

A flavor writes only safe formats, except ``pyfunc`` (pickle), which says so with
``needs_trust``; the service then refuses to load it without ``trust=True``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from shipyard.models.models import ModelDescriptor


@dataclass(frozen=True)
class Saved:
    """What a flavor learnt while saving: the task, the class labels and its own settings."""

    task: str | None = None
    classes: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Flavor(ABC):
    """One way of turning a framework's model into files and back."""

    name: ClassVar[str]
    distributions: ClassVar[tuple[str, ...]] = ()  # whose versions the descriptor records
    needs_trust: ClassVar[bool] = False

    @abstractmethod
    def save(self, model: Any, folder: Path, extra: Mapping[str, Any]) -> Saved:
        """Write ``model`` into the empty ``folder``."""

    @abstractmethod
    def load(self, folder: Path, descriptor: ModelDescriptor, trust: bool) -> Any:
        """The framework object from the files in ``folder`` (digests already verified)."""

    @abstractmethod
    def predict(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        """Predictions of ``raw`` on ``frame`` (already checked against the signature)."""

    def predict_proba(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        """Class probabilities; only classifiers have them."""
        raise InvalidInputError(f"models of the {self.name} flavor have no predict_proba")

    def predict_array(self, raw: Any, matrix: np.ndarray[Any, Any], proba: bool) -> Any:
        """Predictions (or class probabilities) on a 2-D array already in signature order, or
        None when ``raw`` needs a DataFrame. The serving fast path: no frame is built."""
        return None


def features(frame: pd.DataFrame, dtype: Any = None) -> np.ndarray[Any, Any]:
    """The frame as a 2-D array (for models fitted without column names)."""
    import numpy as np

    return np.asarray(frame.to_numpy(dtype=dtype))


def wants_frame(model: Any) -> bool:
    """Whether a scikit-learn-style model was fitted on named columns (else give it an array)."""
    return getattr(model, "feature_names_in_", None) is not None


def class_labels(model: Any) -> list[Any] | None:
    """``model.classes_`` as plain Python values, or None."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None
    from shipyard.models.package import plain

    result = plain(classes)
    return list(result) if isinstance(result, list | tuple) else None


def pick_from_classes(proba: Any, classes: list[Any] | None) -> np.ndarray[Any, Any]:
    """The most likely class of each row of ``proba`` (its column index when classes are unknown)."""
    import numpy as np

    index: np.ndarray[Any, Any] = np.asarray(proba).argmax(axis=1)
    return index if classes is None else np.asarray(classes)[index]
