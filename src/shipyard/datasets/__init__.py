"""Dataset versions. ``sy.datasets`` is this package; its SDK functions live in
:mod:`shipyard.sdk.datasets` and are looked up on first use, so that importing the
domain (models, stores, service) stays light and free of front-door code.

>>> import shipyard as sy
>>> sy.datasets.add.__module__
'shipyard.sdk.datasets'
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's, which the lean `data status` does not load
if TYPE_CHECKING:
    from typing import Any

SDK_FUNCTIONS = ("add", "get", "versions", "list", "status", "diff", "load", "checkout")
__all__ = list(SDK_FUNCTIONS)


def __getattr__(name: str) -> Any:
    import importlib

    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.datasets"), name)
    raise AttributeError(f"module 'shipyard.datasets' has no attribute {name!r}")
