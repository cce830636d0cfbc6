"""Hyperparameter search on Optuna: trials as tracked runs, studies stored in Shipyard.

``sy.tuning`` is this package; its SDK functions live in :mod:`shipyard.sdk.tuning`
and are looked up on first use. ``sy.tune`` and ``sy.report`` search and report;
``sy.uniform``, ``sy.loguniform``, ``sy.intrange`` and ``sy.choice`` make a space.

>>> import shipyard as sy
>>> sy.tuning.studies.__module__, sy.tuning.TrialPruned.__name__
('shipyard.sdk.tuning', 'TrialPruned')
"""

from __future__ import annotations

import importlib
from typing import Any

SDK_FUNCTIONS = ("tune", "studies", "get_study")
_CLASSES = {
    "TrialPruned": "shipyard.tuning.trial",
    "Trial": "shipyard.tuning.trial",
    "TuneResult": "shipyard.tuning.models",
    "report": "shipyard.tuning.trial",
}
__all__ = [*SDK_FUNCTIONS, *_CLASSES]


def __getattr__(name: str) -> Any:
    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.tuning"), name)
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module 'shipyard.tuning' has no attribute {name!r}")
