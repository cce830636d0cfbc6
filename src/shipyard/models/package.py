"""A model package: the flavor's files plus ``shipyard-model.yaml``, the descriptor
(:class:`~shipyard.models.models.ModelDescriptor`), and :class:`LoadedModel`, a package
loaded and ready to predict.

A file that no longer matches the digest the descriptor gives it is refused.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.models.models import DESCRIPTOR_NAME, FORMAT_VERSION, TASKS, ModelDescriptor
from shipyard.models.signature import Signature, as_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from shipyard.models.flavors.base import Flavor

__all__ = [
    "DESCRIPTOR_NAME",
    "FORMAT_VERSION",
    "TASKS",
    "LoadedModel",
    "ModelDescriptor",
    "framework_versions",
    "plain",
]


def framework_versions(distributions: Iterable[str]) -> dict[str, str]:
    """Python's, Shipyard's and each installed distribution's version."""
    from shipyard._version import __version__

    versions = {"python": platform.python_version(), "shipyard": __version__}
    for name in distributions:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def plain(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays turned into Python ones (for YAML)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class LoadedModel:
    """A package loaded and ready: ``predict(df)`` (and ``predict_proba(df)`` for classifiers).

    Inputs are checked against the signature first: missing or mistyped columns raise
    :class:`InvalidInputError` naming them. ``raw`` is the framework's own object.
    """

    def __init__(
        self, descriptor: ModelDescriptor, flavor: Flavor, raw: Any, uri: str = "", package_digest: str = ""
    ) -> None:
        self.descriptor = descriptor
        self.raw = raw
        self.uri = uri
        self.package_digest = package_digest
        self._flavor = flavor

    def __repr__(self) -> str:
        return f"<LoadedModel {self.flavor} {self.uri or '(unsaved)'}>"

    @property
    def flavor(self) -> str:
        return self.descriptor.flavor

    @property
    def signature(self) -> Signature | None:
        return self.descriptor.signature

    @property
    def task(self) -> str | None:
        return self.descriptor.task

    @property
    def classes(self) -> list[Any] | None:
        return self.descriptor.classes

    def prepare(self, data: Any) -> pd.DataFrame:
        """``data`` as the model takes it: checked against the signature when there is one."""
        signature = self.descriptor.signature
        return as_frame(data) if signature is None else signature.check(data)

    def predict(self, data: Any) -> np.ndarray[Any, Any]:
        """Predictions as a NumPy array (1-D when there is one output per row)."""
        import numpy as np

        out = np.asarray(self._flavor.predict(self.raw, self.prepare(data), self.descriptor))
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def predict_proba(self, data: Any) -> np.ndarray[Any, Any]:
        """Class probabilities, one row per input row and one column per class (classifiers only)."""
        import numpy as np

        if self.descriptor.task != "classifier":
            raise InvalidInputError(
                f"{self.uri or 'this model'} is not a classifier "
                f"(task: {self.descriptor.task or 'unknown'}); it has no predict_proba"
            )
        out = np.asarray(self._flavor.predict_proba(self.raw, self.prepare(data), self.descriptor))
        return out.reshape(-1, 1) if out.ndim == 1 else out

    # -- the serving fast path -------------------------------------------------------
    def predict_rows(self, matrix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Predictions on a 2-D array whose columns are the signature's inputs, in order.

        For serving: the caller has already checked the values against the signature, so
        no DataFrame is built or checked when the framework takes arrays (a scikit-learn
        model fitted without column names); other models get a frame of the signature's
        columns and dtypes. Same output shape as :meth:`predict`.
        """
        import numpy as np

        out = self._flavor.predict_array(self.raw, matrix, proba=False)
        if out is None:
            out = self._flavor.predict(self.raw, self.rows_frame(matrix), self.descriptor)
        out = np.asarray(out)
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def predict_proba_rows(self, matrix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """:meth:`predict_proba` on an already checked 2-D array (see :meth:`predict_rows`)."""
        import numpy as np

        if self.descriptor.task != "classifier":
            return self.predict_proba(matrix)  # raises the same error
        out = self._flavor.predict_array(self.raw, matrix, proba=True)
        if out is None:
            out = self._flavor.predict_proba(self.raw, self.rows_frame(matrix), self.descriptor)
        out = np.asarray(out)
        return out.reshape(-1, 1) if out.ndim == 1 else out

    def rows_frame(self, matrix: np.ndarray[Any, Any]) -> pd.DataFrame:
        """A 2-D array as a DataFrame with the signature's column names and dtypes."""
        import pandas as pd

        signature = self.descriptor.signature
        if signature is None:
            return as_frame(matrix)
        frame = pd.DataFrame(matrix, columns=signature.column_names)
        casts = {c.name: _PANDAS_DTYPES[c.dtype] for c in signature.inputs if c.dtype in _PANDAS_DTYPES}
        return frame.astype(casts) if casts else frame


_PANDAS_DTYPES = {"int": "int64", "float": "float64", "bool": "bool"}
