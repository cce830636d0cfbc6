"""Run a suite on data with DuckDB, in as few scans as possible.

1. The data becomes a view (:mod:`shipyard.validation.sources`) and its schema is read
   (``DESCRIBE``: no rows). Every check is compiled against the schema, then all of
   them are bound once on zero rows; a missing column, a wrong type or bad SQL is an
   ``InvalidInputError`` naming the suite line, before any row is read.
2. ONE aggregate query computes every per-row check, the row count and the newest
   value of each freshness column: ``count(*) FILTER (WHERE NOT cond)`` per check.
   ``unique`` is ``count(col) - <distinct values>``, exact either way: on an integer column
   of Parquet files whose footer statistics bound it to a small enough range (read without
   reading rows), the distinct values are the set bits of ``bitstring_agg`` (a bitmap, several
   times faster than a hash table and ``range / 8`` bytes); else ``count(DISTINCT col)``.
   Should a value fall outside the footer's bounds (bad statistics), DuckDB raises and the
   scan is run again with ``count(DISTINCT col)``.
3. One ``LIMIT 5`` query per failing per-row check fetches sample failing rows.
4. Drift checks read just their column, of the data and of the reference version.

NULLs: ``not_null`` counts them; ``between``, ``in_set``, ``regex`` and ``unique``
ignore them (they are neither passing nor failing, and ``mostly`` is a fraction of the
non-NULL rows); an ``expression`` that is NULL on a row ignores that row, as a SQL
``CHECK`` constraint does. NaN in a pandas float column is NULL to DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.validation.models import (
    Between,
    Check,
    CheckResult,
    Drift,
    DType,
    Expression,
    Freshness,
    InSet,
    NotNull,
    Regex,
    RowCount,
    Suite,
    Unique,
)
from shipyard.validation.sources import create_view, literal, quote
from shipyard.validation.suite import location
from shipyard.validation.vocabulary import DTYPE_FAMILIES

NUMERIC = frozenset(DTYPE_FAMILIES["number"])
INTEGER = frozenset(DTYPE_FAMILIES["int"])
TEMPORAL = frozenset(DTYPE_FAMILIES["date"] + DTYPE_FAMILIES["timestamp"])
# ``unique`` on an integer column whose Parquet statistics bound it to a range of at most
# max(BITMAP_MIN_BITS, BITMAP_BITS_PER_ROW x rows) values (and BITMAP_MAX_BITS) counts the
# distinct values with a bitmap (``bitstring_agg``) instead of a hash table: as exact, several
# times faster, and ``width / 8`` bytes per thread.
BITMAP_MIN_BITS = 1 << 23
BITMAP_BITS_PER_ROW = 4
BITMAP_MAX_BITS = 1 << 30
ReferencePath = Callable[[str], Path]


@dataclass(frozen=True)
class Compiled:
    """A check as SQL over the view ``data``: aggregates and the WHERE clause of a failing row."""

    check: Check
    failing: str = ""  # aggregate: failing rows
    evaluated: str = ""  # aggregate: rows the check looked at
    bad_rows: str = ""  # WHERE clause selecting failing rows
    newest: str = ""  # aggregate: newest value, as epoch seconds (freshness)
    column_type: str = ""


def base_type(column_type: str) -> str:
    """``DECIMAL(10,2)`` -> ``DECIMAL``."""
    return re.sub(r"\(.*\)$", "", column_type.upper()).strip('"')


def _connect() -> Any:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def schema_of(con: Any, view: str) -> dict[str, str]:
    """Column name -> DuckDB type, without reading rows."""
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()}


class Planner:
    """Compiles checks against a schema; errors name the suite line."""

    def __init__(
        self,
        suite: Suite,
        schema: dict[str, str],
        con: Any,
        ranges: dict[str, tuple[int, int, int]] | None = None,
    ) -> None:
        self.suite, self.schema, self.con = suite, schema, con
        self.ranges = ranges or {}  # integer column -> (min, max, rows), from Parquet footers

    def fail(self, check: Check, message: str) -> InvalidInputError:
        return InvalidInputError(f"{location(check, self.suite)}: {message}", details={"line": check.line})

    def column(self, check: Check) -> str:
        name = check.target or ""
        if name not in self.schema:
            import difflib

            close = difflib.get_close_matches(name, list(self.schema), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(self.schema)
            raise self.fail(check, f"column {name!r} does not exist{hint}; the data has: {known}")
        return self.schema[name]

    def value(self, check: Check, value: Any, column_type: str) -> str:
        """``value`` as a literal of the column's type; a mismatch is rejected now, not mid-scan."""
        base = base_type(column_type)
        if base == "NULL":  # a column with no values at all (an empty or all-None frame column)
            return literal(value)
        if base in NUMERIC:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(check, f"column {check.target!r} is {column_type}: {value!r} is not a number")
            return literal(value)
        if base == "VARCHAR":
            return literal(str(value).lower() if isinstance(value, bool) else str(value))
        if base == "BOOLEAN":
            if not isinstance(value, bool):
                raise self.fail(check, f"column {check.target!r} is BOOLEAN: {value!r} is not true or false")
            return literal(value)
        sql = f"CAST({literal(str(value))} AS {column_type})"
        if self.con.execute(f"SELECT TRY_CAST({literal(str(value))} AS {column_type}) IS NULL").fetchone()[0]:
            raise self.fail(check, f"column {check.target!r} is {column_type}: {value!r} is not such a value")
        return sql

    def compile(self, check: Check) -> Compiled:
        if isinstance(check, RowCount):
            return Compiled(check)
        if isinstance(check, Expression):
            cond = f"({check.sql})"
            where = f"NOT {cond}"
            return Compiled(check, f"count(*) FILTER (WHERE {where})",
                            f"count(*) FILTER (WHERE {cond} IS NOT NULL)", where)  # fmt: skip
        column_type = self.column(check)
        col = quote(check.target or "")
        if isinstance(check, DType | Drift):
            return Compiled(check, column_type=column_type)
        if isinstance(check, Freshness):
            if base_type(column_type) not in TEMPORAL:
                raise self.fail(check, f"freshness needs a DATE or TIMESTAMP column; {col} is {column_type}")
            return Compiled(check, newest=f"epoch(max({col}))", column_type=column_type)
        if isinstance(check, NotNull):
            return Compiled(check, f"count(*) FILTER (WHERE {col} IS NULL)", "count(*)", f"{col} IS NULL")
        if isinstance(check, Unique):
            dupes = f"SELECT {col} FROM data WHERE {col} IS NOT NULL GROUP BY {col} HAVING count(*) > 1"
            distinct = self.distinct(check.column, col, column_type)
            return Compiled(check, f"count({col}) - {distinct}", f"count({col})",
                            f"{col} IN ({dupes})", column_type=column_type)  # fmt: skip
        cond = self.condition(check, col, column_type)
        return Compiled(check, f"count(*) FILTER (WHERE NOT ({cond}))", f"count({col})",
                        f"NOT ({cond})", column_type=column_type)  # fmt: skip

    def distinct(self, name: str, col: str, column_type: str) -> str:
        """The exact number of distinct non-NULL values of a column: a bitmap over the column's
        known integer range when it is small enough, else DuckDB's hash-based DISTINCT."""
        bounds = self.ranges.get(name)
        if bounds is not None and base_type(column_type) in INTEGER:
            low, high, rows = bounds
            width = high - low + 1
            if width <= min(BITMAP_MAX_BITS, max(BITMAP_MIN_BITS, BITMAP_BITS_PER_ROW * rows)):
                low_sql, high_sql = (f"CAST({v} AS {column_type})" for v in (low, high))
                return f"coalesce(bit_count(bitstring_agg({col}, {low_sql}, {high_sql})), 0)"
        return f"count(DISTINCT {col})"

    def condition(self, check: Check, col: str, column_type: str) -> str:
        """The per-row condition of between, in_set and regex (NULL on NULL values)."""
        if isinstance(check, Between):
            numbers = [b for b in (check.min, check.max) if isinstance(b, int | float)]
            if numbers and base_type(column_type) == "VARCHAR":  # text would compare as text: '10' < '9'
                raise self.fail(
                    check, f"column {check.target!r} is {column_type}: {numbers[0]!r} is not a number"
                )
            parts = [f"{col} >= {self.value(check, check.min, column_type)}"] if check.min is not None else []
            if check.max is not None:
                parts.append(f"{col} <= {self.value(check, check.max, column_type)}")
            return " AND ".join(parts)
        if isinstance(check, InSet):
            return f"{col} IN ({', '.join(self.value(check, v, column_type) for v in check.values)})"
        if isinstance(check, Regex):
            text = col if base_type(column_type) == "VARCHAR" else f"CAST({col} AS VARCHAR)"
            return (
                like_condition(text, check.pattern) or f"regexp_full_match({text}, {literal(check.pattern)})"
            )
        raise AssertionError(f"no condition for {check.kind}")  # pragma: no cover


_REGEX_META = frozenset(".^$*+?()[]{}|\\")
_ESCAPABLE = _REGEX_META | {"-", "/"}
_NEGATED = re.compile(r"\[\^([^\]\\^-])\]([+*])")


def like_condition(text: str, pattern: str) -> str | None:
    """The full match of ``pattern`` as LIKE conditions (about twice as fast as RE2), for the
    patterns that are literal characters and runs of ONE negated character ``[^c]+``/``[^c]*``,
    such as ``^[^@]+@[^@]+$``; None for any other pattern.

    With ``k`` literal ``c`` in the pattern, a text matches iff it holds exactly ``k`` of ``c``
    (so they align with the pattern's) and matches the LIKE where each run is ``_%`` or ``%``
    (a run then cannot take a ``c``). ``[^c]`` matches a newline in RE2, as ``_`` does.

    >>> print(like_condition("e", "^[^@]+@[^@]+$"))
    (e LIKE '_%@_%' ESCAPE '\\' AND NOT e LIKE '%@%@%' ESCAPE '\\')
    >>> like_condition("e", "a.c") is None, like_condition("e", "[^@]+@[^.]+") is None
    (True, True)
    """
    body = pattern[1:] if pattern.startswith("^") else pattern
    body = body[:-1] if body.endswith("$") and not body.endswith("\\$") else body
    like, separators, position = [], set(), 0
    literals: list[str] = []
    while position < len(body):
        run = _NEGATED.match(body, position)
        if run is not None:
            separators.add(run.group(1))
            like.append("_%" if run.group(2) == "+" else "%")
            position = run.end()
            continue
        char = body[position]
        if char == "\\" and position + 1 < len(body) and body[position + 1] in _ESCAPABLE:
            char, position = body[position + 1], position + 1  # an escaped metacharacter
        elif char in _REGEX_META:
            return None
        literals.append(char)
        like.append(_like_char(char))
        position += 1
    if len(separators) != 1:
        return None
    (separator,) = separators
    too_many = "%" + "%".join([_like_char(separator)] * (literals.count(separator) + 1)) + "%"
    matches = f"{text} LIKE {literal(''.join(like))} ESCAPE '\\'"
    return f"({matches} AND NOT {text} LIKE {literal(too_many)} ESCAPE '\\')"


def _like_char(char: str) -> str:
    return "\\" + char if char in "%_\\" else char


def aggregates(plans: list[Compiled]) -> dict[str, str]:
    """Each distinct aggregate expression -> its alias (``count(*)`` is always ``n``)."""
    out = {"count(*)": "n"}
    for plan in plans:
        for expr in (plan.failing, plan.evaluated, plan.newest):
            if expr and expr not in out:
                out[expr] = f"a{len(out)}"
    return out


def aggregate_sql(aggs: dict[str, str], source: str = "data") -> str:
    return f"SELECT {', '.join(f'{expr} AS {alias}' for expr, alias in aggs.items())} FROM {source}"


def bind_check(con: Any, planner: Planner, plans: list[Compiled]) -> None:
    """Bind every aggregate on zero rows; on error, find the check at fault and name its line."""
    import duckdb

    empty = "(SELECT * FROM data LIMIT 0) AS data"
    try:
        con.execute(aggregate_sql(aggregates(plans), empty)).fetchall()
        return
    except duckdb.Error:
        pass
    for plan in plans:
        try:
            con.execute(aggregate_sql(aggregates([plan]), empty)).fetchall()
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise planner.fail(plan.check, f"cannot be computed on this data: {first}") from None


def run_suite(
    suite: Suite, data: Path | Any, *, reference_path: ReferencePath | None = None
) -> list[CheckResult]:
    """Every check of ``suite`` on ``data`` (a path, a DataFrame or an Arrow table)."""
    import duckdb

    from shipyard.tabular import read_errors

    con = _connect()
    try:
        files = create_view(con, "data", data)
        schema = schema_of(con, "data")
        planner = Planner(suite, schema, con, _unique_ranges(con, suite, schema, files))
        plans = [planner.compile(check) for check in suite.checks]
        bind_check(con, planner, plans)
        references = _references(con, planner, plans, reference_path)
        if files:
            with read_errors(files, con):
                return _evaluate(con, planner, plans, references)
        return _evaluate(con, planner, plans, references)
    except duckdb.Error as exc:
        raise InvalidInputError(f"cannot validate the data: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()


def _unique_ranges(
    con: Any, suite: Suite, schema: dict[str, str], files: list[Path]
) -> dict[str, tuple[int, int, int]]:
    """Footer statistics of the integer columns checked for ``unique`` (no row is read)."""
    from shipyard.validation.sources import integer_ranges

    columns = sorted({
        check.column for check in suite.checks
        if isinstance(check, Unique) and base_type(schema.get(check.column, "")) in INTEGER
    })  # fmt: skip
    return integer_ranges(con, files, columns) if columns else {}


def _evaluate(
    con: Any, planner: Planner, plans: list[Compiled], references: dict[int, str]
) -> list[CheckResult]:
    """The one aggregate scan, then samples of failing checks and drift comparisons."""
    import duckdb

    from shipyard.validation.results import drift_result, row_results

    aggs = aggregates(plans)
    try:
        row = con.execute(aggregate_sql(aggs)).fetchone()
    except duckdb.OutOfRangeException:
        if not any("bitstring_agg(" in expr for expr in aggs):
            raise
        # a value outside the footer statistics (a writer's bad statistics): count with DISTINCT
        planner.ranges = {}
        plans = [planner.compile(plan.check) for plan in plans]
        aggs = aggregates(plans)
        row = con.execute(aggregate_sql(aggs)).fetchone()
    values = {expr: value for expr, value in zip(aggs, row, strict=True)}
    results = []
    for index, plan in enumerate(plans):
        if isinstance(plan.check, Drift):
            results.append(drift_result(con, plan.check, references[index]))
        else:
            results.append(row_results(con, plan, values))
    return results


def _references(
    con: Any, planner: Planner, plans: list[Compiled], reference_path: ReferencePath | None
) -> dict[int, str]:
    """Views of the reference data of each drift check (checked to hold the column), by position."""
    views: dict[int, str] = {}
    for index, plan in enumerate(plans):
        check = plan.check
        if not isinstance(check, Drift):
            continue
        if reference_path is None:
            raise planner.fail(check, "drift needs dataset versions: validate through a workspace")
        view = f"reference_{index}"
        create_view(con, view, reference_path(check.reference))
        if check.column not in schema_of(con, view):
            raise planner.fail(check, f"column {check.column!r} does not exist in {check.reference}")
        views[index] = view
    return views


__all__ = ["Compiled", "Planner", "base_type", "run_suite"]
