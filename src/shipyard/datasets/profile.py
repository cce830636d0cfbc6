"""Schema, row count and column profile of tabular files, computed with DuckDB.

Each file is read in at most three scans, each one aggregate query covering every
column at once:

1. row count and, per column: ``count`` (values), ``null_count``, ``nan_count``
   (float columns), ``min``, ``max``, ``mean`` and an estimate of the distinct count
   (``approx_count_distinct``, HyperLogLog: a few percent off on large columns, but
   coarse on tiny ones);
2. ``distinct_count``: exact for columns with at most :data:`QUANTILE_SAMPLE` values
   (``count(DISTINCT)``) or whose value counts are gathered for ``top_values``, else
   the estimate of scan 1. Per numeric column: ``std`` (sample, ``ddof=1``, from the squared deviations from
   the mean of scan 1: the two-pass formula, stable for large offsets), quantiles
   ``q01 q25 q50 q75 q99`` (linear interpolation like pandas, exact for up to
   :data:`QUANTILE_SAMPLE` values, else on a random sample of about that many: rank
   error about 0.2%), ``histogram`` (10 equal-width bins from min to max, closed on
   the left and the last one on both sides, like ``numpy.histogram``; a constant
   column gives one bin ``[min, max]``); ``top_values`` (5 most frequent values with
   exact counts) for string, boolean and low-cardinality numeric columns;
3. only for string columns with more than :data:`EXACT_TOP_CARDINALITY` distinct
   values: exact counts of the candidates ``approx_top_k`` found in scan 2.

Numeric statistics skip NaN (counted in ``nan_count``); a non-finite result (an
infinite min or mean) is reported as None and leaves out the histogram. Date and time
columns get ``min``/``max`` as ISO 8601 strings (UTC for time-zone-aware ones).
Everything returned is plain JSON: str, int, float, bool, None, lists and dicts.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.tabular import connect, from_sql, is_tabular, open_table, read_errors

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "EXACT_TOP_CARDINALITY",
    "HISTOGRAM_BINS",
    "NUMERIC_TOP_CARDINALITY",
    "QUANTILES",
    "QUANTILE_SAMPLE",
    "TOP_VALUES",
    "profile_delta",
    "profile_files",
    "profile_table",
    "schema_changes",
]

QUANTILES: dict[str, float] = {"q01": 0.01, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q99": 0.99}
HISTOGRAM_BINS = 10
TOP_VALUES = 5
QUANTILE_SAMPLE = 100_000
"""Columns with more values get quantiles from a random sample of about this size."""
NUMERIC_TOP_CARDINALITY = 20
"""Numeric columns with at most this many distinct values also get ``top_values``."""
EXACT_TOP_CARDINALITY = 100_000
"""String columns with more distinct values find top-value candidates approximately."""

Schema = list[list[str]]
ColumnProfiles = dict[str, dict[str, Any]]

_INTEGER_TYPES = frozenset(
    [
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    ]
)

Results = dict[tuple[str, str], Any]


@dataclass(frozen=True)
class _Column:
    """A column and the names the profiling queries give it."""

    index: int
    name: str
    type: str
    kind: str  # float | number | bool | string | temporal | other

    @property
    def alias(self) -> str:
        """Its values in :func:`_projection` (NaN as NULL, ENUM as text)."""
        return f"c{self.index}"

    @property
    def nan_alias(self) -> str:
        """Whether its value is NaN, in :func:`_projection` (float columns)."""
        return f"n{self.index}"


class _Query:
    """One aggregate query built column by column: keys, expressions, parameters."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []
        self.exprs: list[str] = []
        self.params: list[Any] = []

    def add(self, column: str, stat: str, expr: str, *params: Any) -> None:
        self.keys.append((column, stat))
        self.exprs.append(expr)
        self.params.extend(params)

    def run(self, con: duckdb.DuckDBPyConnection, source: str) -> Results:
        if not self.exprs:
            return {}
        row = con.execute(f"SELECT {', '.join(self.exprs)} FROM {source}", self.params).fetchone()
        assert row is not None  # an aggregate query returns one row
        return dict(zip(self.keys, row, strict=True))


def profile_files(
    files: Sequence[tuple[str, Path]],
) -> tuple[dict[str, Schema], int | None, dict[str, ColumnProfiles]]:
    """Schema, total row count and column profile of the tabular files among ``files``.

    ``files`` are ``(logical path, local path)`` pairs; the logical path's suffix
    decides whether a file is tabular (:func:`~shipyard.tabular.is_tabular`)
    and names it in errors. Returns ``(schema by logical path, total rows or None when
    no file is tabular, profile by logical path)``; a schema is ``[[column, DuckDB
    type], ...]`` and a profile maps each column to its statistics (module docstring).
    Raises :class:`~shipyard.core.errors.InvalidInputError` for a file that cannot
    be read.
    """
    schemas: dict[str, Schema] = {}
    profiles: dict[str, ColumnProfiles] = {}
    total: int | None = None
    con = connect()
    for logical, local in files:
        if not is_tabular(logical):
            continue
        schemas[logical], rows, profiles[logical] = profile_table([(logical, local)], connection=con)
        total = rows if total is None else total + rows
    return schemas, total, profiles


def profile_table(
    files: Sequence[tuple[str, str | Path]], connection: duckdb.DuckDBPyConnection | None = None
) -> tuple[Schema, int, ColumnProfiles]:
    """Schema, row count and column profile of one table (its files unioned by name)."""
    con = connection if connection is not None else connect()
    relation = open_table(files, connection=con)
    types = [str(t) for t in relation.types]
    columns = [
        _Column(i, n, t, _kind(t)) for i, (n, t) in enumerate(zip(relation.columns, types, strict=True))
    ]
    source = from_sql(files)
    with read_errors(files, connection=con):
        rows, first = _first_scan(con, source, columns)
        second = _second_scan(con, source, columns, first)
        third = _third_scan(con, source, columns, second)
    profile = {c.name: _column_profile(c, rows, first, second, third) for c in columns}
    return [[c.name, c.type] for c in columns], rows, profile


def _kind(type_name: str) -> str:
    """What a DuckDB type is profiled as."""
    upper = type_name.upper()
    if upper in ("FLOAT", "DOUBLE"):
        return "float"
    if upper in _INTEGER_TYPES or upper.startswith("DECIMAL"):
        return "number"
    if upper == "BOOLEAN":
        return "bool"
    if upper == "VARCHAR" or upper.startswith("ENUM"):
        return "string"
    if upper.startswith(("DATE", "TIME")):
        return "temporal"
    return "other"


def _projection(columns: list[_Column], source: str, second: bool = False, sample: bool = False) -> str:
    """``source`` with every column renamed to its alias, NaN as NULL, ENUM as text.

    For the ``second`` scan numbers are cast to DOUBLE once here; with ``sample`` a
    uniform random ``u`` in [0, 1) per row picks the quantile sample. Aggregates over
    the aliases need no FILTER clauses or repeated casts, which DuckDB runs slowly.
    """
    parts: list[str] = []
    for c in columns:
        ident = '"' + c.name.replace('"', '""') + '"'
        if c.kind == "float":
            value = f"CASE WHEN isnan({ident}) THEN NULL ELSE {ident} END"
            parts.append(f"isnan({ident}) AS {c.nan_alias}")
        elif c.type.upper().startswith("ENUM"):
            value = f"{ident}::VARCHAR"
        else:
            value = ident
        if second and c.kind in ("float", "number"):
            value = f"({value})::DOUBLE"
        parts.append(f"{value} AS {c.alias}")
    if sample:
        parts.append("random() AS u")
    return f"(SELECT {', '.join(parts)} FROM {source})"


def _first_scan(con: duckdb.DuckDBPyConnection, source: str, columns: list[_Column]) -> tuple[int, Results]:
    """Row count, counts, distinct counts, min, max and mean of every column."""
    query = _Query()
    query.add("", "rows", "count(*)")
    for c in columns:
        x = c.alias
        query.add(c.name, "count", f"count({x})")
        if c.kind == "float":
            query.add(c.name, "nan_count", f"count_if({c.nan_alias})")
        if c.kind in ("float", "number"):
            for stat in ("min", "max", "avg"):
                query.add(c.name, stat, f"{stat}({x})")
        if c.kind == "temporal":
            for stat in ("min", "max"):
                query.add(c.name, stat, _iso_sql(f"{stat}({x})", c.type))
        if c.kind in ("float", "number", "string", "temporal"):
            query.add(c.name, "distinct_count", f"approx_count_distinct({x})")
        if c.kind == "bool":
            query.add(c.name, "true_count", f"count_if({x})")
    results = query.run(con, _projection(columns, source))
    return int(results[("", "rows")]), results


def _second_scan(
    con: duckdb.DuckDBPyConnection, source: str, columns: list[_Column], first: Results
) -> Results:
    """Squared deviations, quantiles, histogram counts and top-value candidates."""
    query = _Query()
    sampled = False
    for c in columns:
        count = first.get((c.name, "count")) or 0
        distinct = first.get((c.name, "distinct_count")) or 0
        top = (c.kind in ("float", "number") and distinct <= NUMERIC_TOP_CARDINALITY) or (
            c.kind == "string" and distinct <= EXACT_TOP_CARDINALITY
        )
        if count and top:
            query.add(c.name, "top", f"histogram({c.alias})")
        elif count and c.kind == "string":
            query.add(c.name, "top_candidates", f"approx_top_k({c.alias}, {TOP_VALUES})")
        if count and not top and (c.name, "distinct_count") in first and count <= QUANTILE_SAMPLE:
            query.add(c.name, "exact_distinct", f"count(DISTINCT {c.alias})")
        if count and c.kind in ("float", "number"):
            sampled = _add_numeric(query, c, count, first) or sampled
    return query.run(con, _projection(columns, source, second=True, sample=sampled))


def _add_numeric(query: _Query, c: _Column, count: int, first: Results) -> bool:
    """Add one numeric column's second-scan aggregates; True if its quantiles sample."""
    low, high, mean = (_finite(first[(c.name, s)]) for s in ("min", "max", "avg"))
    x = c.alias
    if mean is not None:
        query.add(c.name, "ssd", f"sum(({x} - ?) * ({x} - ?))", mean, mean)
    points = ", ".join(repr(q) for q in QUANTILES.values())
    sampled = count > QUANTILE_SAMPLE
    if sampled:
        query.add(
            c.name,
            "quantiles",
            f"quantile_cont(CASE WHEN u < ? THEN {x} END, [{points}])",
            QUANTILE_SAMPLE / count,
        )
    else:
        query.add(c.name, "quantiles", f"quantile_cont({x}, [{points}])")
    if low is not None and high is not None and low < high:
        for i, edge in enumerate(_edges(low, high)[1:-1]):
            query.add(c.name, f"below{i}", f"count_if({x} < ?)", edge)
    return sampled


def _third_scan(
    con: duckdb.DuckDBPyConnection, source: str, columns: list[_Column], second: Results
) -> Results:
    """Exact counts of the approximate top-value candidates."""
    query = _Query()
    for c in columns:
        for i, candidate in enumerate(second.get((c.name, "top_candidates")) or []):
            query.add(c.name, f"candidate{i}", f"count_if({c.alias} = ?)", candidate)
    return query.run(con, _projection(columns, source)) if query.exprs else {}


def _edges(low: float, high: float) -> list[float]:
    """``HISTOGRAM_BINS + 1`` equal-width edges, as ``numpy.histogram`` draws them."""
    import numpy as np

    return [float(e) for e in np.linspace(low, high, HISTOGRAM_BINS + 1)]


def _iso_sql(expr: str, type_name: str) -> str:
    """SQL rendering a date/time value as ISO 8601 text (aware timestamps in UTC)."""
    upper = type_name.upper()
    if upper == "TIMESTAMP WITH TIME ZONE":
        return f"replace(timezone('UTC', {expr})::VARCHAR, ' ', 'T') || '+00:00'"
    if upper.startswith("TIMESTAMP"):
        return f"replace({expr}::VARCHAR, ' ', 'T')"
    return f"{expr}::VARCHAR"


def _column_profile(c: _Column, rows: int, first: Results, second: Results, third: Results) -> dict[str, Any]:
    """The JSON profile of one column from the results of the scans."""
    count = int(first.get((c.name, "count")) or 0)
    nan_count = int(first.get((c.name, "nan_count")) or 0)
    out: dict[str, Any] = {"count": count, "null_count": rows - count - nan_count}
    if c.kind == "float":
        out["nan_count"] = nan_count
    if (c.name, "exact_distinct") in second:
        out["distinct_count"] = int(second[(c.name, "exact_distinct")])
    elif (c.name, "top") in second:
        out["distinct_count"] = len(second[(c.name, "top")] or {})
    elif (c.name, "distinct_count") in first:
        out["distinct_count"] = int(first[(c.name, "distinct_count")])
    if c.kind in ("float", "number"):
        out.update(_numeric_profile(c, count, first, second))
    elif c.kind == "temporal":
        out["min"], out["max"] = first[(c.name, "min")], first[(c.name, "max")]
    elif c.kind == "bool":
        true_count = int(first[(c.name, "true_count")] or 0)
        counts = {True: true_count, False: count - true_count}
        out["distinct_count"] = sum(1 for n in counts.values() if n)
        out["top_values"] = _top(counts)
    if (c.name, "top") in second:
        out["top_values"] = _top(second[(c.name, "top")] or {})
    elif (c.name, "top_candidates") in second:
        candidates = second[(c.name, "top_candidates")] or []
        out["top_values"] = _top({v: third[(c.name, f"candidate{i}")] for i, v in enumerate(candidates)})
    return out


def _numeric_profile(c: _Column, count: int, first: Results, second: Results) -> dict[str, Any]:
    """min, max, mean, std, quantiles and histogram of a numeric column."""
    low, high, mean = (_finite(first[(c.name, s)]) for s in ("min", "max", "avg"))
    ssd = second.get((c.name, "ssd"))
    std = math.sqrt(ssd / (count - 1)) if ssd is not None and count > 1 else None
    quantiles = second.get((c.name, "quantiles")) or [None] * len(QUANTILES)
    out: dict[str, Any] = {"min": _json(first[(c.name, "min")]), "max": _json(first[(c.name, "max")])}
    out.update(mean=mean, std=_finite(std))
    out.update({key: _finite(value) for key, value in zip(QUANTILES, quantiles, strict=True)})
    if (c.name, "below0") in second and low is not None and high is not None:
        below = [0] + [int(second[(c.name, f"below{i}")]) for i in range(HISTOGRAM_BINS - 1)] + [count]
        counts = [below[i + 1] - below[i] for i in range(HISTOGRAM_BINS)]
        out["histogram"] = {"edges": _edges(low, high), "counts": counts}
    elif low is not None and low == high:
        out["histogram"] = {"edges": [low, high], "counts": [count]}
    return out


def _top(counts: dict[Any, Any]) -> list[dict[str, Any]]:
    """The :data:`TOP_VALUES` most frequent values, most frequent first, ties by value."""
    pairs = [(_json(value), int(n)) for value, n in counts.items() if n and value is not None]
    pairs.sort(key=lambda pair: (-pair[1], str(pair[0])))
    return [{"value": value, "count": n} for value, n in pairs[:TOP_VALUES]]


def _finite(value: Any) -> float | None:
    """``value`` as a float, or None when missing, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _json(value: Any) -> Any:
    """``value`` as a plain JSON value (Decimal to float, non-finite float to None)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | decimal.Decimal):
        return _finite(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def profile_delta(a: ColumnProfiles, b: ColumnProfiles) -> dict[str, dict[str, dict[str, float | None]]]:
    """How the numeric statistics of each column changed from profile ``a`` to ``b``.

    Only columns and statistics present (and numbers) in both are compared. Each gives
    ``{"a", "b", "change": b - a, "relative_change": (b - a) / |a|}``, the relative
    change None when ``a`` is 0.

    >>> profile_delta({"x": {"mean": 2.0, "max": 0}}, {"x": {"mean": 3.0, "max": 1}, "y": {}})
    {'x': {'max': {'a': 0, 'b': 1, 'change': 1, 'relative_change': None}, \
'mean': {'a': 2.0, 'b': 3.0, 'change': 1.0, 'relative_change': 0.5}}}
    """
    delta: dict[str, dict[str, dict[str, float | None]]] = {}
    for column in a.keys() & b.keys():
        stats: dict[str, dict[str, float | None]] = {}
        for stat in sorted(a[column].keys() & b[column].keys()):
            old, new = a[column][stat], b[column][stat]
            if not (_is_number(old) and _is_number(new)):
                continue
            change = new - old
            stats[stat] = {
                "a": old,
                "b": new,
                "change": change,
                "relative_change": change / abs(old) if old else None,
            }
        if stats:
            delta[column] = stats
    return dict(sorted(delta.items()))


def schema_changes(a: Schema, b: Schema) -> dict[str, list[dict[str, str]]]:
    """Columns added, removed and retyped from schema ``a`` to schema ``b``.

    >>> schema_changes([["id", "BIGINT"], ["x", "DOUBLE"]], [["id", "VARCHAR"], ["y", "DATE"]])
    {'added': [{'column': 'y', 'type': 'DATE'}], 'removed': [{'column': 'x', 'type': 'DOUBLE'}], \
'type_changed': [{'column': 'id', 'from': 'BIGINT', 'to': 'VARCHAR'}]}
    """
    old, new = dict((c, t) for c, t in a), dict((c, t) for c, t in b)
    return {
        "added": [{"column": c, "type": t} for c, t in new.items() if c not in old],
        "removed": [{"column": c, "type": t} for c, t in old.items() if c not in new],
        "type_changed": [
            {"column": c, "from": old[c], "to": t} for c, t in new.items() if c in old and old[c] != t
        ],
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
