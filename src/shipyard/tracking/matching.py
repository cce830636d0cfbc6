"""The filter language evaluated in Python, for the in-memory store.

The semantics are those written in :mod:`shipyard.tracking.filters`; the SQL store
compiles the same language (``store/sql_search.py``) and the shared contract suite
checks the two against each other.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from shipyard.tracking.filters import (
    And,
    Entity,
    Expr,
    Or,
    OrderBy,
    literal_text,
)
from shipyard.tracking.models import RunRecord, RunStatus

__all__ = ["matches", "sort_key", "sort_runs"]

_NUMERIC_TEXT_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")

_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _values(value: str | float | tuple[str | float, ...]) -> tuple[str | float, ...]:
    return value if isinstance(value, tuple) else (value,)


@lru_cache(maxsize=512)
def _like_regex(pattern: str) -> re.Pattern[str]:
    parts, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _like(actual: str, pattern: str, fold: bool) -> bool:
    if fold:
        actual, pattern = actual.lower(), pattern.lower()
    return _like_regex(pattern).fullmatch(actual) is not None


def _compare_number(actual: float, op: str, value: str | float | tuple[str | float, ...]) -> bool:
    if math.isnan(actual):
        return op in ("!=", "not in")
    if op in ("in", "not in"):
        return any(actual == v for v in _values(value)) == (op == "in")
    return bool(_ORDERING[op](actual, value))


def _compare_text(actual: str, op: str, value: str | float | tuple[str | float, ...]) -> bool:
    if op in ("like", "ilike"):
        return _like(actual, literal_text(_values(value)[0]), op == "ilike")
    if op in ("in", "not in"):
        return (actual in {literal_text(v) for v in _values(value)}) == (op == "in")
    if isinstance(value, str) or op in ("=", "!="):
        return bool(_ORDERING[op](actual, literal_text(_values(value)[0])))
    if _NUMERIC_TEXT_RE.fullmatch(actual) is None:
        return False
    return _compare_number(float(actual), op, value)


def _lookup(entity: Entity, key: str, run: RunRecord) -> str | float | None:
    if entity == "metrics":
        return run.metrics.get(key)
    if entity in ("params", "tags"):
        return (run.params if entity == "params" else run.tags).get(key)
    attributes: dict[str, str | int | None] = {
        "status": RunStatus(run.status).value,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "run_name": run.name,
        "run_id": run.id,
        "experiment_id": run.experiment_id,
    }
    return attributes.get(key)


def matches(expr: Expr | None, run: RunRecord) -> bool:
    """Whether ``run`` satisfies ``expr`` (an AST from :func:`parse_filter`; None matches all)."""
    if expr is None:
        return True
    if isinstance(expr, And):
        return all(matches(item, run) for item in expr.items)
    if isinstance(expr, Or):
        return any(matches(item, run) for item in expr.items)
    actual = _lookup(expr.entity, expr.key, run)
    if actual is None:
        return False
    if isinstance(actual, str):
        return _compare_text(actual, expr.op, expr.value)
    return _compare_number(float(actual), expr.op, expr.value)


# ---------------------------------------------------------------------------- ordering


def sort_key(run: RunRecord, order: OrderBy) -> str | float | None:
    """The value ``run`` is ordered by for ``order``; None when missing (or a NaN metric)."""
    value = _lookup(order.entity, order.key, run)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def sort_runs(runs: Iterable[RunRecord], order_by: Sequence[OrderBy]) -> list[RunRecord]:
    """``runs`` ordered by ``order_by``, missing values last, then newest start, then id."""
    result = sorted(runs, key=lambda run: run.id)
    result.sort(key=lambda run: run.start_time, reverse=True)
    for order in reversed(order_by):  # stable sorts, least significant key first
        keyed = [(sort_key(run, order), run) for run in result]
        present: list[tuple[Any, RunRecord]] = [pair for pair in keyed if pair[0] is not None]
        present.sort(key=lambda pair: pair[0], reverse=order.descending)
        result = [run for _, run in present] + [run for value, run in keyed if value is None]
    return result
