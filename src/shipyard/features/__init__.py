"""The feature store: one definition for point-in-time training data and online serving.

``sy.features`` is this package; its SDK functions live in :mod:`shipyard.sdk.features`
and are looked up on first use, so that importing the domain (models, stores, service)
stays light and free of front-door code.

One name is both: :mod:`shipyard.features.online` is the package of online-store
backends, and Python sets it as this package's ``online`` attribute when it is
imported. So that ``sy.features.online(entity_rows=..., features=...)`` still reads
features, that package is made callable: calling it calls
:func:`shipyard.sdk.features.online`.

>>> import shipyard as sy
>>> sy.features.historical.__module__
'shipyard.sdk.features'
>>> callable(sy.features.online), sy.features.online.ONLINE_STORES["redis"].split(":")[0]
(True, 'shipyard.features.online.redis')
"""

from __future__ import annotations

import importlib
import types
from typing import Any

SDK_FUNCTIONS = ("apply", "historical", "materialize", "materialize_incremental", "online", "list", "get")
__all__ = list(SDK_FUNCTIONS)


class _CallablePackage(types.ModuleType):
    """The online-store package, which is also the SDK's ``online`` function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return importlib.import_module("shipyard.sdk.features").online(*args, **kwargs)


def _make_online_callable() -> None:
    package = importlib.import_module("shipyard.features.online")  # light: no backend is imported
    package.__class__ = _CallablePackage


_make_online_callable()


def __getattr__(name: str) -> Any:
    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.features"), name)
    raise AttributeError(f"module 'shipyard.features' has no attribute {name!r}")
