"""Parsed filters as JSON, for the REST store to send and the server to read.

Shapes: a comparison is ``{"entity", "key", "op", "value"}`` (``value`` a string,
a number, ``{"float": "NaN" | "Infinity" | "-Infinity"}``, or a list of those for
``in``/``not in``); ``{"and": [...]}`` and ``{"or": [...]}`` combine them; an
order-by is ``{"entity", "key", "descending"}``. Anything else is refused with
:class:`~shipyard.core.errors.InvalidInputError` saying where.

>>> from shipyard.tracking.filters import Comparison, And
>>> expr = And((Comparison("metrics", "auc", ">", 0.9), Comparison("params", "m", "in", ("a", "b"))))
>>> expr_from_json(expr_to_json(expr)) == expr
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

from shipyard.core.errors import InvalidInputError
from shipyard.tracking.filters import And, Comparison, Entity, Expr, Or, OrderBy

ENTITIES = ("metrics", "params", "tags", "attributes")
OPS = ("=", "!=", "<", "<=", ">", ">=", "like", "ilike", "in", "not in")
LIST_OPS = ("in", "not in")
MAX_DEPTH = 32
MAX_ITEMS = 1000
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

Scalar = str | float


def expr_to_json(expr: Expr | None) -> Any:
    """The JSON form of a parsed filter (None stays None)."""
    if expr is None:
        return None
    if isinstance(expr, And):
        return {"and": [expr_to_json(item) for item in expr.items]}
    if isinstance(expr, Or):
        return {"or": [expr_to_json(item) for item in expr.items]}
    value = expr.value
    encoded = [_scalar_to_json(v) for v in value] if isinstance(value, tuple) else _scalar_to_json(value)
    return {"entity": expr.entity, "key": expr.key, "op": expr.op, "value": encoded}


def expr_from_json(obj: Any, where: str = "filter") -> Expr | None:
    """A parsed filter from its JSON form; ``InvalidInputError`` naming the bad part."""
    if obj is None:
        return None
    return _expr(obj, where, 0)


def order_by_to_json(order_by: Sequence[OrderBy]) -> list[dict[str, Any]]:
    """The JSON form of an order-by list."""
    return [{"entity": o.entity, "key": o.key, "descending": o.descending} for o in order_by]


def order_by_from_json(obj: Any, where: str = "order_by") -> list[OrderBy]:
    """An order-by list from its JSON form; ``InvalidInputError`` naming the bad item."""
    if obj is None:
        return []
    if not isinstance(obj, list) or len(obj) > MAX_ITEMS:
        raise _bad(where, f"must be a list of at most {MAX_ITEMS} items")
    result = []
    for i, item in enumerate(obj):
        at = f"{where}[{i}]"
        _keys(item, at, {"entity", "key", "descending"}, {"entity", "key"})
        descending = item.get("descending", False)
        if not isinstance(descending, bool):
            raise _bad(f"{at}.descending", "must be true or false")
        result.append(OrderBy(_entity(item["entity"], at), _key(item["key"], at), descending))
    return result


def _expr(obj: Any, where: str, depth: int) -> Expr:
    if depth > MAX_DEPTH:
        raise _bad(where, f"nests deeper than {MAX_DEPTH} levels")
    if isinstance(obj, dict) and len(obj) == 1 and ("and" in obj or "or" in obj):
        ((kind, items),) = obj.items()
        at = f"{where}.{kind}"
        if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
            raise _bad(at, f"must be a list of 1 to {MAX_ITEMS} expressions")
        parts = tuple(_expr(item, f"{at}[{i}]", depth + 1) for i, item in enumerate(items))
        return And(parts) if kind == "and" else Or(parts)
    _keys(obj, where, {"entity", "key", "op", "value"}, {"entity", "key", "op", "value"})
    op = obj["op"]
    if op not in OPS:
        raise _bad(f"{where}.op", f"is {op!r}; use one of {', '.join(OPS)}")
    raw = obj["value"]
    value: Scalar | tuple[Scalar, ...]
    if op in LIST_OPS:
        if not isinstance(raw, list) or not raw or len(raw) > MAX_ITEMS:
            raise _bad(f"{where}.value", f"must be a list of 1 to {MAX_ITEMS} values for {op!r}")
        value = tuple(_scalar(v, f"{where}.value[{i}]") for i, v in enumerate(raw))
    else:
        value = _scalar(raw, f"{where}.value")
    return Comparison(_entity(obj["entity"], where), _key(obj["key"], where), op, value)


def _keys(obj: Any, where: str, allowed: set[str], required: set[str]) -> None:
    if not isinstance(obj, dict):
        raise _bad(where, f"must be an object with {', '.join(sorted(required))}")
    extra, missing = set(obj) - allowed, required - set(obj)
    if extra or missing:
        problem = f"has unknown field(s) {sorted(extra)}" if extra else f"lacks field(s) {sorted(missing)}"
        raise _bad(where, problem)


def _entity(raw: Any, where: str) -> Entity:
    if raw not in ENTITIES:
        raise _bad(f"{where}.entity", f"is {raw!r}; use one of {', '.join(ENTITIES)}")
    return cast(Entity, raw)


def _key(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise _bad(f"{where}.key", "must be a non-empty string")
    return raw


def _scalar(raw: Any, where: str) -> Scalar:
    if isinstance(raw, str) or (isinstance(raw, int | float) and not isinstance(raw, bool)):
        return raw
    if isinstance(raw, dict) and set(raw) == {"float"} and raw["float"] in _NON_FINITE:
        return _NON_FINITE[raw["float"]]
    raise _bad(where, f"must be a string or a number, got {raw!r}")


def _scalar_to_json(value: Scalar) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    return value


def _bad(where: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{where} {problem}", details={"field": where})
