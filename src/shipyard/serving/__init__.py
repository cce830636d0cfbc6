"""Serving: deployments with primary, canary, A/B and shadow routes; prediction log; batch scoring.

``sy.serving`` is this package; its SDK functions live in :mod:`shipyard.sdk.serving`
and are looked up on first use, so importing the domain (models, stores, service)
stays light and free of front-door code. ``sy.deploy`` is :func:`shipyard.sdk.serving.deploy`.

>>> import shipyard as sy
>>> sy.serving.predictions.__module__
'shipyard.sdk.serving'
"""

from __future__ import annotations

import importlib
from typing import Any

SDK_FUNCTIONS = (
    "deploy",
    "get",
    "list",
    "history",
    "set_weight",
    "undeploy",
    "resolve",
    "predictions",
    "feedback",
    "predict_batch",
)
__all__ = list(SDK_FUNCTIONS)


def __getattr__(name: str) -> Any:
    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.serving"), name)
    raise AttributeError(f"module 'shipyard.serving' has no attribute {name!r}")
