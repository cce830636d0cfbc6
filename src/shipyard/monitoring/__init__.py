"""Monitoring: drift, data quality, performance from late labels, alerts and the actions that close the loop.

``sy.monitoring`` is this package; its SDK functions live in :mod:`shipyard.sdk.monitoring`
and are looked up on first use, so importing the domain stays light and free of
front-door code. The statistics are in :mod:`shipyard.monitoring.stats`, reference
profiles in :mod:`shipyard.monitoring.profiles`. No module of this package is named
like an SDK function (``drift`` is :mod:`~shipyard.monitoring.detection`), so importing
one never hides a function.

>>> import shipyard as sy
>>> sy.monitoring.drift.__module__
'shipyard.sdk.monitoring'
"""

from __future__ import annotations

import importlib
from typing import Any

SDK_FUNCTIONS = ("drift", "data_quality", "multivariate_drift", "profile")
_CLASSES = {
    "ReferenceProfile": "shipyard.monitoring.profiles",
    "DriftReport": "shipyard.monitoring.detection",
}
__all__ = [*SDK_FUNCTIONS, *_CLASSES]


def __getattr__(name: str) -> Any:
    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.monitoring"), name)
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module 'shipyard.monitoring' has no attribute {name!r}")
