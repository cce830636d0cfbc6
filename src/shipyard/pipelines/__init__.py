"""Pipelines of cached, retried steps on a local or Ray executor.

``sy.pipelines`` is this package; its SDK functions live in
:mod:`shipyard.sdk.pipelines` and are looked up on first use, so importing the
domain stays light and free of front-door code. ``@sy.step`` and ``@sy.pipeline``
are :func:`shipyard.pipelines.steps.step` and :func:`shipyard.pipelines.pipeline.pipeline`.

>>> import shipyard as sy
>>> sy.pipelines.run.__module__, sy.pipelines.Materializer.__name__
('shipyard.sdk.pipelines', 'Materializer')
"""

from __future__ import annotations

import importlib
from typing import Any

SDK_FUNCTIONS = (
    "run",
    "resume",
    "list",
    "get",
    "step_runs",
    "output",
    "clear_cache",
    "register_materializer",
    "schedule",
    "unschedule",
    "schedules",
    "start_pipeline",
)
_CLASSES = {"Materializer": "shipyard.pipelines.materializers"}
__all__ = [*SDK_FUNCTIONS, *_CLASSES]


def __getattr__(name: str) -> Any:
    if name in SDK_FUNCTIONS:
        return getattr(importlib.import_module("shipyard.sdk.pipelines"), name)
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module 'shipyard.pipelines' has no attribute {name!r}")
