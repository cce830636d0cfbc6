"""Any object with a ``predict`` method, pickled: ``sy.pyfunc(model)``.

Unpickling runs code chosen by whoever made the file, so a ``pyfunc`` package is
loaded only with ``trust=True``. The object's class must be importable where it is
loaded. ``predict_proba`` is offered when the object has one.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.models.flavors.base import Flavor, Saved, class_labels

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.models.models import ModelDescriptor

FILE = "model.pkl"


class pyfunc:  # spelled like a function: sy.pyfunc(model)
    """Marks ``model`` (anything with ``predict``) to be logged pickled, as the ``pyfunc`` flavor.

    >>> class Doubler:
    ...     def predict(self, frame):
    ...         return frame["x"] * 2
    >>> pyfunc(Doubler()).model.__class__.__name__
    'Doubler'
    """

    model: Any

    def __init__(self, model: Any) -> None:
        if isinstance(model, pyfunc):
            model = model.model
        if not callable(getattr(model, "predict", None)):
            raise InvalidInputError(
                f"sy.pyfunc needs an object with a predict method, got {type(model).__name__}"
            )
        self.model = model

    def __repr__(self) -> str:
        return f"pyfunc({self.model!r})"


class PyfuncFlavor(Flavor):
    name = "pyfunc"
    distributions = ("numpy", "pandas")
    needs_trust = True

    def save(self, model: Any, folder: Path, extra: Mapping[str, Any]) -> Saved:
        inner = pyfunc(model).model
        try:
            data = pickle.dumps(inner, protocol=5)
        except Exception as exc:  # pickling raises PicklingError, TypeError, AttributeError, ...
            raise InvalidInputError(f"cannot pickle {type(inner).__name__}: {exc}") from exc
        (folder / FILE).write_bytes(data)
        task = extra.get("task", "classifier" if callable(getattr(inner, "predict_proba", None)) else None)
        classes = extra.get("classes", class_labels(inner) if task == "classifier" else None)
        kept = {k: v for k, v in extra.items() if k not in ("task", "classes")}
        return Saved(task, classes, {**kept, "class": f"{type(inner).__module__}:{type(inner).__qualname__}"})

    def load(self, folder: Path, descriptor: ModelDescriptor, trust: bool) -> Any:
        if not trust:  # the service refuses earlier; this guards direct use of the flavor
            from shipyard.core.errors import PermissionDenied

            raise PermissionDenied(
                "a pyfunc package is pickled: load it with trust=True if you trust its maker"
            )
        return pickle.loads((folder / FILE).read_bytes())  # trust=True was given

    def predict(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        return raw.predict(frame)

    def predict_proba(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        if not callable(getattr(raw, "predict_proba", None)):
            raise InvalidInputError(f"{type(raw).__name__} has no predict_proba")
        return raw.predict_proba(frame)
