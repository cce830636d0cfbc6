"""Offline retrieval end to end: check everything, then one DuckDB join per view, then on-demand steps.

:func:`historical` answers an entity frame (point in time, row by row); :func:`as_of`
answers "every entity's values at time T". Both check the request first (join keys
and the timestamp column in the frame, the sources' columns and types), so a bad
request fails before any row is read, and both return the dataset versions they read.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.features import frames
from shipyard.features.offline import T, Wanted, latest_rows, point_in_time
from shipyard.features.ondemand import compute, input_frame
from shipyard.features.plan import Plan
from shipyard.features.sources import Source, family, open_source, quote

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from shipyard.datasets.models import DatasetVersion
    from shipyard.features.models import OnDemandFeature
    from shipyard.features.sources import Datasets

FORMATS = ("pandas", "arrow")
FunctionOf = Callable[["OnDemandFeature"], Callable[..., Any]]


@dataclass
class Retrieved:
    """A result and what it was read from (for run lineage)."""

    data: Any
    datasets: list[DatasetVersion] = field(default_factory=list)


_database: dict[int, duckdb.DuckDBPyConnection] = {}  # by process id
_lock = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh connection (its own temporary tables) to one in-memory database kept per process.

    Opening a DuckDB database takes tens of milliseconds; a cursor on an open one is free.
    A forked child opens a database of its own (DuckDB is not fork-safe) and leaves the
    parent's untouched: not even closed, as its threads did not survive the fork.
    """
    with _lock:
        database = _database.get(os.getpid())
        if database is None:
            from shipyard.tabular import connect as open_database

            database = _database[os.getpid()] = open_database()
            # Hand memory a query freed back to the system at once, not at 128 MB: a join in
            # passes (see offline) then peaks at one pass, not at all of them.
            database.execute("SET allocator_flush_threshold = '4MB'")
            database.execute("SET allocator_bulk_deallocation_flush_threshold = '4MB'")
        con = database.cursor()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _open(con: duckdb.DuckDBPyConnection, plan: Plan, datasets: Datasets) -> list[Source]:
    return [open_source(con, v.view, datasets) for v in plan.views]


def _versions(sources: list[Source]) -> list[DatasetVersion]:
    seen: dict[str, DatasetVersion] = {}
    for source in sources:
        for version in source.datasets:
            seen.setdefault(version.ref, version)
    return list(seen.values())


# -- historical ----------------------------------------------------------------------
def historical(
    plan: Plan,
    entity_df: Any,
    *,
    datasets: Datasets,
    function_of: FunctionOf,
    timestamp_column: str | None = None,
    format: str = "pandas",
) -> Retrieved:
    """The entity frame with one column per requested feature, each value as of its row's time."""
    _check_format(format)
    frame = frames.as_pandas(entity_df)
    for view in plan.views:
        frames.check_keys(frame, view.view.join_keys, f"feature view {view.name!r}")
    for step in plan.on_demand:
        missing = [c for c in step.feature.request_inputs if c not in frame.columns]
        if missing:
            raise InvalidInputError(
                f"the entity frame has no column {missing[0]!r}, an input of on-demand feature "
                f"{step.feature.name!r}; its columns: {list(frame.columns)}"
            )
    clash = [c for c in plan.columns if c in frame.columns]
    if clash:
        raise InvalidInputError(
            f"the entity frame already has a column {clash[0]!r}; rename it or pass full_feature_names=True"
        )
    fields = [v.view.timestamp_field for v in plan.views]
    stamp = frames.timestamp_column(frame, timestamp_column, fields, plan.join_keys)
    micros, nanos = frames.utc_micros_nanos(frame, stamp)
    con = connect()
    try:
        sources = _open(con, plan, datasets)
        keys = {key: frames.key_array(frame, key) for key in plan.join_keys}
        _check_key_types(sources, keys)
        columns = _join_views(con, plan, sources, keys, micros, nanos)
    finally:
        con.close()
    _on_demand(plan, columns, lambda name: frames.key_array(frame, name), len(frame), function_of)
    return Retrieved(_assemble(frame, plan, columns, format), _versions(sources))


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise InvalidInputError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")


def _check_key_types(sources: list[Source], keys: dict[str, pa.Array]) -> None:
    import pyarrow as pa

    arrow_family = {"i": "int", "u": "int", "f": "float", "b": "bool", "U": "string", "M": "timestamp"}
    for source in sources:
        for key in source.view.join_keys:
            kind = keys[key].type
            if pa.types.is_null(kind):
                continue
            mine = arrow_family.get(_kind(kind), "other")
            theirs = family(source.columns[key])
            numeric = {mine, theirs} <= {"int", "float"}
            if mine != theirs and not numeric:
                raise InvalidInputError(
                    f"join key {key!r} is {kind} in the entity frame but {source.columns[key]} in "
                    f"{source.label}; convert one of them",
                    details={"view": source.view.name, "key": key},
                )


def _kind(kind: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_integer(kind):
        return "i"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "f"
    if pa.types.is_boolean(kind):
        return "b"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return "U"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "M"
    return "?"


def _join_views(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    sources: list[Source],
    keys: dict[str, pa.Array],
    micros: np.ndarray,
    nanos: np.ndarray | None,
) -> dict[str, pa.ChunkedArray | pa.Array]:
    """Every view's features for every entity row, in row order, by column name."""
    import numpy as np
    import pyarrow as pa

    rows = len(micros)
    columns: dict[str, Any] = {}
    registered: dict[str, tuple[int, int]] = {}
    for number, (view, source) in enumerate(zip(plan.views, sources, strict=True)):
        wanted = Wanted(source, tuple(view.features), tuple(view.columns))
        if rows == 0:
            columns.update(
                {c: _empty(view.view.dtypes[f]) for f, c in zip(view.features, view.columns, strict=True)}
            )
            continue
        name = f"__sy_entity_{source.unit}"
        if name not in registered:
            times = micros if source.unit == "us" else nanos
            if times is None:
                raise InvalidInputError(
                    f"{source.label} has nanosecond times; entity times beyond 2262 cannot be compared"
                )
            table = pa.table({**keys, frames.ROW: np.arange(rows, dtype=np.int64), T: times})
            con.register(name, table)
            registered[name] = (int(times.min()), int(times.max()))
        source.prepare(con, f"__sy_source_{number}")
        table = point_in_time(con, name, registered[name], wanted)
        columns.update({c: table.column(c) for c in view.columns})
    return columns


def _empty(dtype: str) -> pa.Array:
    import pyarrow as pa

    kinds = {"int": pa.int64(), "float": pa.float64(), "string": pa.string(), "bool": pa.bool_()}
    return pa.array([], type=kinds.get(dtype, pa.timestamp("us", tz="UTC")))


def _on_demand(
    plan: Plan, columns: dict[str, Any], request: Callable[[str], Any], rows: int, function_of: FunctionOf
) -> None:
    """Compute each on-demand step in dependency order, adding its outputs to ``columns``."""
    for step in plan.on_demand:
        inputs: dict[str, Any] = {}
        for text in step.feature.inputs:
            name = text.partition(":")[2] if ":" in text else text
            inputs[name] = columns[step.inputs[name]] if name in step.inputs else request(name)
        table = compute(step.feature, function_of(step.feature), input_frame(inputs), step.outputs)
        if table.num_rows != rows:
            raise InvalidInputError(f"on-demand feature {step.feature.name!r} returned {table.num_rows} rows")
        columns.update({c: table.column(o) for o, c in zip(step.outputs, step.columns, strict=True)})


def _assemble(frame: pd.DataFrame, plan: Plan, columns: dict[str, Any], format: str) -> Any:
    import pandas as pd
    import pyarrow as pa

    wanted = pa.table([columns[c] for c in plan.columns], names=plan.columns)
    if format == "arrow":
        base = pa.Table.from_pandas(frame, preserve_index=False)
        for name in plan.columns:
            base = base.append_column(name, wanted.column(name))
        return base
    return pd.concat([frame, frames.output_pandas(wanted).set_axis(frame.index)], axis=1)


# -- as of ---------------------------------------------------------------------------
def instant(value: Any, what: str = "as_of") -> int:
    """``value`` (a datetime, pandas Timestamp or ISO string; naive means UTC) as epoch microseconds."""
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{what} must be a datetime or an ISO timestamp, got {value!r}") from exc
    if pd.isna(stamp):
        raise InvalidInputError(f"{what} must be a datetime, got {value!r}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1000)


def in_unit(micros: int, unit: str) -> int:
    return micros * 1000 if unit == "ns" else micros


def as_of(
    plan: Plan,
    at: datetime | Any,
    *,
    datasets: Datasets,
    function_of: FunctionOf,
    format: str = "pandas",
) -> Retrieved:
    """Every entity's latest values at ``at`` (within each view's TTL), one row per entity."""
    _check_format(format)
    micros = instant(at)
    key_sets = {tuple(v.view.join_keys) for v in plan.views}
    if len(key_sets) > 1:
        raise InvalidInputError(
            f"as_of retrieval needs views with the same join keys, got {sorted(key_sets)}; "
            "retrieve them apart"
        )
    for step in plan.on_demand:
        if step.feature.request_inputs:
            raise InvalidInputError(
                f"on-demand feature {step.feature.name!r} needs request data "
                f"{list(step.feature.request_inputs)}: "
                "retrieve it with an entity frame"
            )
    con = connect()
    try:
        sources = _open(con, plan, datasets)
        tables = []
        for number, (view, source) in enumerate(zip(plan.views, sources, strict=True)):
            source.prepare(con, f"__sy_source_{number}")
            wanted = Wanted(source, tuple(view.features), tuple(view.columns))
            tables.append(latest_rows(con, wanted, in_unit(micros, source.unit)).drop_columns([T]))
        table = _outer_join(con, tables, list(plan.join_keys))
    finally:
        con.close()
    columns = {name: table.column(name) for name in table.column_names}
    _on_demand(plan, columns, lambda name: columns[name], table.num_rows, function_of)
    import pyarrow as pa

    keys = plan.join_keys
    result = pa.table([columns[c] for c in [*keys, *plan.columns]], names=[*keys, *plan.columns])
    return Retrieved(result if format == "arrow" else frames.output_pandas(result), _versions(sources))


def _outer_join(con: duckdb.DuckDBPyConnection, tables: list[pa.Table], keys: list[str]) -> pa.Table:
    """The tables joined on ``keys`` (every entity of any of them), sorted by the keys."""
    order = ", ".join(quote(k) for k in keys)
    for number, table in enumerate(tables):
        con.register(f"__sy_latest_{number}", table)
    query = "SELECT * FROM __sy_latest_0"
    for number in range(1, len(tables)):
        query += f" FULL OUTER JOIN __sy_latest_{number} USING ({order})"
    return con.sql(f"{query} ORDER BY {order}").to_arrow_table()
