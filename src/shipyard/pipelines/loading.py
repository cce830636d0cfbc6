"""Finding a pipeline by name: ``module:attribute`` (``shipyard pipelines run train:training``).

The working directory is searched first, as ``python -m`` would, so a pipeline in a
project's ``train.py`` is ``train:<name>``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.pipelines.pipeline import Pipeline


def load_pipeline(spec: str) -> Pipeline:
    """The :class:`Pipeline` named by ``module:attribute`` (``attribute`` may be dotted)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidInputError(f"name a pipeline as module:attribute (e.g. train:training), got {spec!r}")
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise NotFoundError(f"cannot import module {module_name!r} of pipeline {spec!r}: {exc}") from exc
        raise  # the module exists; something it imports does not
    for part in attribute.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise NotFoundError(f"module {module_name!r} has no {attribute!r} (pipeline {spec!r})")
    if not isinstance(found, Pipeline):
        raise InvalidInputError(
            f"{spec} is a {type(found).__name__}, not a pipeline: decorate it with @sy.pipeline"
        )
    return found
