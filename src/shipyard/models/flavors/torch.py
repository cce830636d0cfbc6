"""PyTorch modules: the weights in safetensors, the class as an importable ``module:QualName``.

The class must be importable where the model is loaded, so a class defined in
``__main__`` (a script or a notebook) or inside a function is refused when saving.
Its constructor's keyword arguments come from ``extra={"init_kwargs": {...}}`` or,
when that is absent, from the module's ``shipyard_init_kwargs`` attribute::

    class Net(torch.nn.Module):
        def __init__(self, width: int = 8):
            super().__init__()
            self.shipyard_init_kwargs = {"width": width}
            ...

``predict`` feeds the frame as one float tensor (the dtype of the module's
parameters) and returns the forward output as a NumPy array.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.models.flavors.base import Flavor, Saved, features

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.models.models import ModelDescriptor

FILE = "model.safetensors"
INIT_KWARGS_ATTRIBUTE = "shipyard_init_kwargs"


class TorchFlavor(Flavor):
    name = "torch"
    distributions = ("torch", "safetensors", "numpy")

    def save(self, model: Any, folder: Path, extra: Mapping[str, Any]) -> Saved:
        import torch
        from safetensors.torch import save_model

        if not isinstance(model, torch.nn.Module):
            raise InvalidInputError(f"the torch flavor saves a torch.nn.Module, got {type(model).__name__}")
        path = _class_path(type(model))
        kwargs = extra.get("init_kwargs", getattr(model, INIT_KWARGS_ATTRIBUTE, None)) or {}
        _check_kwargs(type(model), kwargs)
        save_model(model, str(folder / FILE))
        kept = {k: v for k, v in extra.items() if k != "init_kwargs"}
        return Saved(None, None, {**kept, "class": path, "init_kwargs": dict(kwargs)})

    def load(self, folder: Path, descriptor: ModelDescriptor, trust: bool) -> Any:
        from safetensors.torch import load_model

        cls = _import_module_class(str(descriptor.extra.get("class", "")))
        kwargs = descriptor.extra.get("init_kwargs") or {}
        if not isinstance(kwargs, dict):
            raise InvalidInputError(f"init_kwargs in the package must be a mapping, got {kwargs!r}")
        try:
            model = cls(**kwargs)
        except Exception as exc:
            raise InvalidInputError(
                f"cannot build {descriptor.extra['class']}(**{kwargs!r}): {exc}; record the constructor's "
                f"arguments with extra={{'init_kwargs': ...}} or a {INIT_KWARGS_ATTRIBUTE} attribute"
            ) from exc
        load_model(model, str(folder / FILE), strict=True)
        return model.eval()

    def predict(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        import numpy as np
        import torch

        parameter = next(raw.parameters(), None)
        dtype = parameter.dtype if parameter is not None else torch.float32
        array = np.array(features(frame, dtype="float64"), copy=True)  # torch wants it writable
        inputs = torch.from_numpy(array).to(dtype)
        with torch.no_grad():
            output = raw(inputs)
        return output.detach().cpu().numpy()


def _class_path(cls: type) -> str:
    module, qualname = cls.__module__, cls.__qualname__
    if module == "__main__" or "<locals>" in qualname:
        raise InvalidInputError(
            f"cannot save {qualname}: it is defined in {module if module == '__main__' else 'a function'}, "
            "so it could not be imported when loading; move the class into an importable module"
        )
    found = _import_module_class(f"{module}:{qualname}")
    if found is not cls:
        raise InvalidInputError(f"{module}:{qualname} does not import as the class of this model")
    return f"{module}:{qualname}"


def _import_module_class(path: str) -> type:
    import torch

    module_name, _, qualname = path.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise InvalidInputError(
            f"cannot import the model class {path!r}: {exc}; install the code that defines it"
        ) from exc
    if not (isinstance(found, type) and issubclass(found, torch.nn.Module)):
        raise InvalidInputError(f"{path!r} is not a torch.nn.Module class")
    return found


def _check_kwargs(cls: type, kwargs: Any) -> None:
    """``kwargs`` must be plain values that the class's constructor accepts."""
    if not isinstance(kwargs, Mapping):
        raise InvalidInputError(f"init_kwargs must be a mapping of keyword arguments, got {kwargs!r}")
    try:
        json.dumps(dict(kwargs))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"init_kwargs must be plain values (numbers, strings, lists, dicts): {exc}"
        ) from None
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as exc:
        raise InvalidInputError(
            f"{cls.__qualname__}(**{dict(kwargs)!r}) cannot be called when loading: {exc}; give the "
            "constructor's arguments with extra={'init_kwargs': {...}} "
            f"or a {INIT_KWARGS_ATTRIBUTE} attribute"
        ) from None
