"""The feature store: one definition for point-in-time training data and online serving.

``sy.features`` is this package; its SDK functions live in :mod:`shipyard.sdk.features`
and are looked up on first use, so that importing the domain (models, stores, service)
stays light and free of front-door code. No submodule is named like an SDK function (the
online-store backends are :mod:`shipyard.features.onlinestore`), so importing the domain's
modules never hides one.

>>> import shipyard as sy
>>> sy.features.historical.__module__, sy.features.online.__module__
('shipyard.sdk.features', 'shipyard.sdk.features')
"""

from __future__ import annotations

import importlib
from typing import Any

SDK_FUNCTIONS = ("apply", "historical", "materialize", "materialize_incremental", "online", "list", "get")
__all__ = list(SDK_FUNCTIONS)


def __getattr__(name: str) -> Any:
    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.features"), name)
    raise AttributeError(f"module 'shipyard.features' has no attribute {name!r}")
