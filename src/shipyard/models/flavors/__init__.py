"""Flavors by name, each a dotted path imported on first use, and detection from an object.

>>> sorted(FLAVORS)
['lightgbm', 'onnx', 'pyfunc', 'sklearn', 'torch', 'xgboost']
>>> detect_flavor(b"not really onnx but bytes")
'onnx'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    from shipyard.models.flavors.base import Flavor

FLAVORS: dict[str, str] = {
    "sklearn": "shipyard.models.flavors.sklearn:SklearnFlavor",
    "xgboost": "shipyard.models.flavors.xgboost:XGBoostFlavor",
    "lightgbm": "shipyard.models.flavors.lightgbm:LightGBMFlavor",
    "onnx": "shipyard.models.flavors.onnx:OnnxFlavor",
    "torch": "shipyard.models.flavors.torch:TorchFlavor",
    "pyfunc": "shipyard.models.flavors.pyfunc:PyfuncFlavor",
}
# The library a model's class comes from -> its flavor, most specific first: XGBoost's and
# LightGBM's scikit-learn wrappers are scikit-learn estimators too.
_BY_LIBRARY = (
    ("xgboost", "xgboost"),
    ("lightgbm", "lightgbm"),
    ("onnx", "onnx"),
    ("torch", "torch"),
    ("sklearn", "sklearn"),
)

_loaded: dict[str, Flavor] = {}


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name`` (``InvalidInputError`` listing the known ones otherwise)."""
    flavor = _loaded.get(name)
    if flavor is None:
        dotted = FLAVORS.get(name) if isinstance(name, str) else None
        if dotted is None:
            raise InvalidInputError(
                f"unknown model flavor {name!r}; known flavors: {', '.join(sorted(FLAVORS))}"
            )
        module, _, attr = dotted.partition(":")
        flavor = _loaded[name] = getattr(importlib.import_module(module), attr)()
    return flavor


def detect_flavor(model: Any) -> str:
    """The flavor that saves ``model``, from the library its class comes from."""
    from shipyard.models.flavors.pyfunc import pyfunc

    if isinstance(model, pyfunc):
        return "pyfunc"
    if isinstance(model, bytes | bytearray):
        return "onnx"
    libraries = {cls.__module__.partition(".")[0] for cls in type(model).__mro__}
    for library, flavor in _BY_LIBRARY:
        if library in libraries:
            return flavor
    hint = (
        "wrap it as sy.pyfunc(model) to save it pickled (loading it then needs trust=True)"
        if callable(getattr(model, "predict", None))
        else "it has no predict method either"
    )
    raise InvalidInputError(
        f"no flavor saves a {type(model).__module__}.{type(model).__qualname__} safely "
        f"(known: scikit-learn, XGBoost, LightGBM, ONNX, PyTorch); {hint}"
    )
