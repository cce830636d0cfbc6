"""The model registry: versions with lineage, aliases with history, gates that cannot be skipped.

``sy.registry`` is this package; its SDK functions live in :mod:`shipyard.sdk.registry`
and are looked up on first use, so importing the domain (models, stores, service)
stays light and free of front-door code. ``sy.gates`` is :mod:`shipyard.registry.gates`.

>>> import shipyard as sy
>>> sy.registry.promote.__module__
'shipyard.sdk.registry'
"""

from __future__ import annotations

import importlib
from typing import Any

SDK_FUNCTIONS = (
    "register",
    "promote",
    "rollback",
    "history",
    "holder",
    "aliases",
    "set_policy",
    "get_policy",
    "approve",
    "describe",
    "get_version",
    "list_models",
    "list_versions",
)
__all__ = list(SDK_FUNCTIONS)


def __getattr__(name: str) -> Any:
    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.registry"), name)
    raise AttributeError(f"module 'shipyard.registry' has no attribute {name!r}")
