"""Compile the filter language (``tracking.filters``) to one SQL query.

The semantics are those of :func:`shipyard.tracking.filters.matches`; the shared
contract suite checks both against each other.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from shipyard.db import tables as t
from shipyard.tracking.filters import And, Comparison, Expr, Or, OrderBy, literal_text

_ATTRIBUTE_COLUMNS = {
    "status": t.runs.c.status,
    "start_time": t.runs.c.start_time,
    "end_time": t.runs.c.end_time,
    "run_name": t.runs.c.name,
    "run_id": t.runs.c.id,
    "experiment_id": t.runs.c.experiment_id,
}
_KEYED = {"metrics": t.latest_metrics, "params": t.params, "tags": t.tags}
_NUMERIC_PATTERN = r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$"


def build_search(
    columns: Sequence[Any],
    experiment_ids: Sequence[str] | None,
    filter: Expr | None,
    order_by: Sequence[OrderBy],
    is_sqlite: bool,
) -> sa.Select[Any]:
    query = sa.select(*columns).select_from(t.runs)
    if experiment_ids is not None:
        query = query.where(t.runs.c.experiment_id.in_(list(experiment_ids)))
    if filter is not None:
        query = query.where(_condition(filter, is_sqlite))
    for index, order in enumerate(order_by):
        query, keys = _order(query, order, index, is_sqlite)
        query = query.order_by(*keys)
    return query.order_by(t.runs.c.start_time.desc(), t.runs.c.id)


def _condition(expr: Expr, is_sqlite: bool) -> ColumnElement[bool]:
    if isinstance(expr, And):
        return sa.and_(*(_condition(e, is_sqlite) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(_condition(e, is_sqlite) for e in expr.items))
    return _comparison(expr, is_sqlite)


def _comparison(c: Comparison, is_sqlite: bool) -> ColumnElement[bool]:
    if c.entity == "attributes":
        column = _ATTRIBUTE_COLUMNS[c.key]
        if c.key not in ("start_time", "end_time"):
            return _compare(_code_point(column, is_sqlite), c.op, c.value)
        return sa.and_(column.is_not(None), _compare(column, c.op, c.value))
    table = _KEYED[c.entity].alias()
    value_col: ColumnElement[Any] = table.c.value
    if c.entity == "metrics":
        cond = _compare_nullable(value_col, c.op, _as_float(c.value))
    elif c.op in ("<", "<=", ">", ">=") and isinstance(c.value, int | float):
        cond = _compare(_as_number(value_col, is_sqlite), c.op, c.value)
    else:
        cond = _compare(_code_point(value_col, is_sqlite), c.op, _as_text(c.value))
    exists = (
        sa.select(sa.literal(1))
        .select_from(table)
        .where(table.c.run_pk == t.runs.c.pk, table.c.key == c.key, cond)
    )
    return exists.exists()


def _compare_nullable(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """Metric comparison where NULL is NaN: false for everything but ``!=`` and ``not in``."""
    if op in ("!=", "not in"):
        return sa.or_(column.is_(None), _compare(column, op, value))
    return _compare(column, op, value)


_OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    compare = _OPERATORS.get(op)
    if compare is not None:
        return compare(column, value)
    if op == "like":
        return column.like(value, escape="\\")
    if op == "ilike":
        return sa.func.lower(column).like(sa.func.lower(value), escape="\\")
    if op == "in":
        return column.in_(list(value))
    if op == "not in":
        return column.not_in(list(value))
    raise AssertionError(f"unknown operator {op}")


def _as_float(value: Any) -> Any:
    """Bind metric literals as floats (a mixed int/float IN list would be typed by its first item)."""
    if isinstance(value, tuple):
        return tuple(float(v) for v in value)
    return float(value)


def _as_text(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(literal_text(v) for v in value)
    return literal_text(value)


def _as_number(column: ColumnElement[Any], is_sqlite: bool) -> ColumnElement[Any]:
    """A text column as a number, NULL when the text is not numeric."""
    if is_sqlite:
        return sa.func.sy_num(column)
    return sa.case(
        (column.regexp_match(_NUMERIC_PATTERN), sa.cast(column, sa.Float(precision=53))), else_=sa.null()
    )


def _code_point(column: ColumnElement[Any], is_sqlite: bool) -> ColumnElement[Any]:
    """Text compared by Unicode code point (SQLite's default; ``COLLATE "C"`` on PostgreSQL)."""
    return column if is_sqlite else column.collate("C")


def _order(
    query: sa.Select[Any], order: OrderBy, index: int, is_sqlite: bool
) -> tuple[sa.Select[Any], list[Any]]:
    if order.entity == "attributes":
        column: ColumnElement[Any] = _ATTRIBUTE_COLUMNS[order.key]
    else:
        table = _KEYED[order.entity].alias(f"order_{index}")
        query = query.outerjoin(table, sa.and_(table.c.run_pk == t.runs.c.pk, table.c.key == order.key))
        column = table.c.value
    if order.entity != "metrics" and order.key not in ("start_time", "end_time"):
        column = _code_point(column, is_sqlite)
    missing_last = sa.case((column.is_(None), 1), else_=0)
    return query, [missing_last, column.desc() if order.descending else column.asc()]
