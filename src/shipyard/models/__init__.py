"""Model packages: flavors, signatures, safe save and load, evaluation.

``sy.models`` is this package; its SDK functions live in :mod:`shipyard.sdk.models`
and the signature types in :mod:`shipyard.models.signature`, all looked up on first
use, so that importing the domain stays light and free of front-door code.

>>> import shipyard as sy
>>> sy.models.load.__module__, sy.models.Signature.__module__
('shipyard.sdk.models', 'shipyard.models.signature')
"""

from __future__ import annotations

import importlib
from typing import Any

SDK_FUNCTIONS = ("log_model", "load", "descriptor", "export_onnx")
_TYPES = {
    "Signature": "shipyard.models.signature",
    "ColumnSpec": "shipyard.models.signature",
    "infer_signature": "shipyard.models.signature",
    "LoadedModel": "shipyard.models.package",
    "ModelDescriptor": "shipyard.models.models",
}
__all__ = [*SDK_FUNCTIONS, *_TYPES]


def __getattr__(name: str) -> Any:
    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.models"), name)
    if name in _TYPES:
        return getattr(importlib.import_module(_TYPES[name]), name)
    raise AttributeError(f"module 'shipyard.models' has no attribute {name!r}")
