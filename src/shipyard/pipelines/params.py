"""Parameters of a pipeline: declared by its function's signature, bound when it runs.

Values given as text (``shipyard pipelines run ... -p epochs=3``) are converted to
the annotated type; values given from Python must already have it:

>>> spec = ParamSpec("epochs", "int", default=10)
>>> spec.coerce("3"), spec.coerce(4), ParamSpec("lr", "float").coerce("0.1")
(3, 4, 0.1)
>>> ParamSpec("flag", "bool").coerce("yes"), ParamSpec("cols", "list").coerce('["a", "b"]')
(True, ['a', 'b'])
>>> spec.coerce("three")
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: parameter 'epochs' must be an int, got 'three'
"""

from __future__ import annotations

import inspect
import json
import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Any

from shipyard.core.errors import InvalidInputError

REQUIRED: Any = inspect.Parameter.empty
_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class ParamSpec:
    """A pipeline parameter: its name, type (``int``, ``float``, ``str``, ``bool``, ``list``,
    ``dict`` or ``any``), default (:data:`REQUIRED` if none) and whether it may be None."""

    name: str
    type: str = "any"
    default: Any = REQUIRED
    optional: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": self.type, "required": self.required}
        if not self.required:
            doc["default"] = self.default
        return doc

    def coerce(self, value: Any) -> Any:
        """``value`` as this parameter's type (text is parsed; other values are checked)."""
        if value is None or (isinstance(value, str) and self.optional and value.lower() in {"none", "null"}):
            if self.optional or self.default is None:
                return None
            raise InvalidInputError(f"parameter {self.name!r} must not be None")
        if isinstance(value, str) and self.type != "str":
            return self._parse(value)
        return self._check(value)

    def _parse(self, text: str) -> Any:
        try:
            if self.type == "bool":
                lowered = text.strip().lower()
                if lowered not in _TRUE | _FALSE:
                    raise ValueError(text)
                return lowered in _TRUE
            if self.type in ("int", "float"):
                return _TYPES[self.type](text)
            if self.type == "any":
                return json.loads(text) if text[:1] in "[{" else text
            return self._check(json.loads(text))
        except (ValueError, InvalidInputError):
            raise InvalidInputError(
                f"parameter {self.name!r} must be {_article(self.type)}, got {text!r}"
            ) from None

    def _check(self, value: Any) -> Any:
        wanted = _TYPES.get(self.type)
        if wanted is None:
            return value
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, bool) and wanted is not bool:
            raise InvalidInputError(f"parameter {self.name!r} must be {_article(self.type)}, got {value!r}")
        if wanted is list and isinstance(value, tuple):
            return list(value)
        if not isinstance(value, wanted):
            raise InvalidInputError(f"parameter {self.name!r} must be {_article(self.type)}, got {value!r}")
        return value


def check_literal(value: Any, where: str) -> None:
    """Refuse a literal that is not a JSON value (finite numbers, string keys)."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{where}: {value} is not a finite number")
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_literal(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"{where}: dictionary keys must be strings, got {key!r}")
            check_literal(item, where)
        return
    raise InvalidInputError(
        f"{where}: a {type(value).__module__}.{type(value).__qualname__} cannot be an argument; pass a JSON "
        "value (number, string, bool, None, list, dict), a pipeline parameter or the output of a step"
    )


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def param_specs(fn: Callable[..., Any], where: str) -> dict[str, ParamSpec]:
    """The parameters of a pipeline function, typed from its annotations (or its defaults)."""
    hints = _hints(fn)
    specs = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise InvalidInputError(f"{where}: *args and **kwargs are not supported; name every parameter")
        type_name, optional = _type_name(hints.get(param.name, param.annotation), param.default)
        specs[param.name] = ParamSpec(param.name, type_name, param.default, optional)
    return specs


def bind_params(specs: Mapping[str, ParamSpec], values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Every parameter's value: given ones coerced, defaults for the rest; unknown or missing is an error."""
    unknown = sorted(set(values) - set(specs))
    if unknown:
        known = ", ".join(specs) or "none"
        raise InvalidInputError(
            f"{where} has no parameter {', '.join(map(repr, unknown))}; its parameters: {known}"
        )
    missing = [name for name, spec in specs.items() if spec.required and name not in values]
    if missing:
        raise InvalidInputError(f"{where} needs parameter(s) {', '.join(map(repr, missing))} (-p name=value)")
    bound = {}
    for name, spec in specs.items():
        bound[name] = spec.coerce(values[name]) if name in values else spec.default
        check_literal(bound[name], f"{where}: parameter {name!r}")
    return bound


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable string annotations: fall back to the raw strings
        return {}


def _type_name(annotation: Any, default: Any) -> tuple[str, bool]:
    """(type name, whether None is allowed) of an annotation, else of the default's type."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0] if len(args) == 1 else Any
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        optional = optional or text.endswith("|None") or text.startswith("None|")
        annotation = text.removesuffix("|None").removeprefix("None|")
        return (annotation if annotation in _TYPES else "any"), optional
    origin = typing.get_origin(annotation) or annotation
    for name, cls in _TYPES.items():
        if origin is cls:
            return name, optional
    if annotation is inspect.Parameter.empty and default is not REQUIRED and default is not None:
        for name, cls in _TYPES.items():
            if type(default) is cls:
                return name, optional
    return "any", optional
