"""Point-in-time correct retrieval on DuckDB: one ASOF JOIN per feature view.

For an entity row with keys ``k`` and time ``t``, a view yields the source row of the
same keys whose event time ``s`` is the latest with ``s <= t``; it is dropped (nulls)
unless ``s > t - ttl``. Rows with the same keys and ``s`` are ordered by the created
timestamp (a missing one counts as the oldest), then by their place in the source; the
last one wins. Nothing from after ``t`` can be chosen.

**The plan.** DuckDB's ASOF JOIN takes one inequality, so the three-part order
``(s, created, place)`` is packed into one integer per row: ``s`` relative to the
earliest time that can matter (the earliest entity time minus the TTL, or the earliest
source time), then the created time relative to its own minimum, then the place, each
in as many bits as its range needs. The packed key fits an ``UBIGINT`` for most data
(120 days in microseconds and a million rows take 64 bits), else a ``HUGEINT``, else a
``STRUCT`` (slower, always right). An entity row probes with its own time and all-ones
below it, so it matches the last row at or before ``t``. Times are integers in the
source's resolution (micro- or nanoseconds); entity times are floored to it, which
keeps every comparison exact. Only rows in the window that can matter are read, and
the features travel through the join as columns: nothing passes through pandas.

**Memory.** The join's sort holds some 50 bytes per source row. A large source is joined
in passes: pass ``i`` of ``n`` takes the entity rows whose keys hash to ``i`` and only the
source rows of those entities (a semi-join, so keys compare exactly as in the join), so
each pass sorts about ``1/n`` of the source and the peak is that of one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.features.frames import ROW, inverse_order
from shipyard.features.sources import POS, SQL_TYPES, Source, duckdb_errors, quote

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

T, KEY = "__sy_t", "__sy_k"
_BIG = 9223372036854775807
_EARLIEST = -(2**62)  # before any real time, in micro- or nanoseconds
PASS_ROWS = 500_000
"""Source rows per pass of the point-in-time join (some 25 MB of sort each; a pass reads the source)."""
MAX_PASSES = 8


@dataclass(frozen=True)
class Wanted:
    """What to read from one view: features and the column each becomes."""

    source: Source
    features: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def ttl(self) -> int | None:
        """The view's TTL in the source's time unit."""
        ttl = self.source.view.ttl
        if ttl is None:
            return None
        micros = ttl.days * 86_400_000_000 + ttl.seconds * 1_000_000 + ttl.microseconds
        return micros * 1000 if self.source.unit == "ns" else micros

    def feature_sql(self, prefix: str = "") -> str:
        dtypes = self.source.view.dtypes
        return ", ".join(
            f"CAST({prefix}{quote(f)} AS {SQL_TYPES[dtypes[f]]}) AS {quote(c)}"
            for f, c in zip(self.features, self.columns, strict=True)
        )


@dataclass(frozen=True)
class Order:
    """The packed sort key of source rows: ``(time - lo, created - cmin + 1, place)``."""

    lo: int
    span: int
    pos_bits: int
    created: tuple[int, int] | None  # (minimum, bits)

    @property
    def low_bits(self) -> int:
        return self.pos_bits + (0 if self.created is None else self.created[1])

    @property
    def sql_type(self) -> str:
        bits = self.span.bit_length() + self.low_bits
        return "UBIGINT" if bits <= 64 else ("HUGEINT" if bits <= 126 else "STRUCT")

    def source_key(self, time: str, created: str | None) -> str:
        kind = self.sql_type
        if kind == "STRUCT":
            tie = "0" if created is None else f"coalesce({created}, {-_BIG})"
            return f"{{'t': {time}, 'c': {tie}, 'p': {POS}}}"
        key = f"({time} - {self.lo})::{kind} * {2**self.low_bits}::{kind} + {POS}::{kind}"
        if created is not None and self.created is not None:
            tie = f"coalesce({created} - {self.created[0] - 1}, 0)::{kind}"
            key += f" + {tie} * {2**self.pos_bits}::{kind}"
        return key

    def time_of(self, key: str) -> str:
        """The event time (in the source's unit) packed in ``key``."""
        if self.sql_type == "STRUCT":
            return f"{key}.t"
        return f"({self.lo} + ({key} // {2**self.low_bits})::BIGINT)"

    def pos_of(self, key: str) -> str:
        """The place in the source packed in ``key``."""
        if self.sql_type == "STRUCT":
            return f"{key}.p"
        return f"({key} % {2**self.pos_bits})::BIGINT"

    def probe_key(self, time: str) -> str:
        kind = self.sql_type
        if kind == "STRUCT":
            return f"{{'t': {time}, 'c': {_BIG}, 'p': {_BIG}}}"
        relative = f"greatest({time} - {self.lo}, 0)::{kind}"
        return f"{relative} * {2**self.low_bits}::{kind} + {2**self.low_bits - 1}::{kind}"


def _order(con: duckdb.DuckDBPyConnection, source: Source, lo: int | None, hi: int) -> Order:
    """The packing of ``source``'s rows with event time in ``(lo, hi]`` (``lo`` None: from the first)."""
    time, created = source.time_sql(), source.created_sql()
    aggregates = []
    if lo is None:
        aggregates.append(f"min({time})")
    if created is not None:
        aggregates += [f"min({created})", f"max({created})"]
    found: list[int | None] = []
    if aggregates:
        found = list(con.sql(f"SELECT {', '.join(aggregates)} FROM {source.relation}").fetchall()[0])
    if lo is None:
        first = found.pop(0)
        lo = (hi if first is None else min(int(first), hi)) - 1
    tie = None
    if created is not None:
        cmin, cmax = found
        tie = (
            (0, 1) if cmin is None or cmax is None else (int(cmin), (int(cmax) - int(cmin) + 1).bit_length())
        )
    rows = source.rows or 1
    lo = max(lo, _EARLIEST)  # a huge TTL must not overflow the BIGINT arithmetic
    return Order(lo=lo, span=max(hi - lo, 1), pos_bits=(rows - 1).bit_length(), created=tie)


def _keys(source: Source, prefix: str = "") -> list[str]:
    return [f"{prefix}{quote(k)}" for k in source.view.join_keys]


def passes(rows: int | None) -> int:
    """How many passes the point-in-time join of a source of ``rows`` rows takes.

    >>> passes(None), passes(500_000), passes(1_000_000), passes(10**9)
    (1, 1, 2, 8)
    """
    return max(1, min(MAX_PASSES, -(-(rows or 0) // PASS_ROWS)))


def point_in_time(
    con: duckdb.DuckDBPyConnection, entity: str, span: tuple[int, int], wanted: Wanted
) -> pa.Table:
    """The features of ``wanted`` for every row of the registered table ``entity``, in row order.

    ``entity`` has the join keys, ``__sy_row`` (0..n-1) and the row's time in the source's
    unit as ``__sy_t``; ``span`` is (earliest, latest) of those times. The ASOF JOIN moves
    only the keys and the packed order (the matched row's time and place are unpacked from
    it); the features of the matched rows are then fetched by place, so the join's sort
    never carries feature values (strings especially).
    """
    import pyarrow as pa

    source = wanted.source
    order = _order(con, source, None if wanted.ttl is None else span[0] - wanted.ttl, span[1])
    count = passes(source.rows)
    name = f"__sy_matches_{source.view.name}"
    query = (
        f"SELECT m.{ROW}, {wanted.feature_sql('s.')} FROM {name} m "
        f"LEFT JOIN {source.relation} s ON m.{POS} = s.{POS}"
    )
    with _reading(source):
        # Two steps: the join's memory is freed before the features are fetched (a tenth less peak).
        parts = [_matches(entity, span[1], wanted, order, part, count) for part in range(count)]
        matches = pa.concat_tables([con.sql(part).to_arrow_table() for part in parts])
        con.register(name, matches)
        try:
            result = con.sql(query).to_arrow_table()
        finally:
            con.unregister(name)
    return result.drop_columns([ROW]).take(inverse_order(result.column(ROW).to_numpy()))


def _matches(entity: str, latest: int, wanted: Wanted, order: Order, part: int, count: int) -> str:
    """The matched source place (or NULL) of each entity row of pass ``part`` of ``count``."""
    source, ttl = wanted.source, wanted.ttl
    time, keys = source.time_sql(), _keys(source)
    rows = (
        f"SELECT {', '.join(keys)}, {order.source_key(time, source.created_sql())} AS {KEY} "
        f"FROM {source.relation} WHERE {time} > {order.lo} AND {time} <= {latest}"
    )
    probes = entity
    if count > 1:
        mine = f"hash({', '.join(keys)}) % {count} = {part}"
        probes = f"(SELECT * FROM {entity} WHERE {mine})"
        same = " AND ".join(f"r.{k} = p.{k}" for k in keys)
        wanted_keys = f"SELECT DISTINCT {', '.join(keys)} FROM {probes}"
        rows = f"SELECT r.* FROM ({rows}) r SEMI JOIN ({wanted_keys}) p ON {same}"
    # The probe's own time is unpacked from its key (no match is possible where it was clamped),
    # so the join carries one column less.
    since = f"{order.time_of(f'e.{KEY}')} - {ttl}"
    matched = f"s.{KEY} IS NOT NULL" if ttl is None else f"{order.time_of(f's.{KEY}')} > {since}"
    on = " AND ".join(f"e.{k} = s.{k}" for k in keys)
    return (
        f"SELECT e.{ROW}, CASE WHEN {matched} THEN {order.pos_of(f's.{KEY}')} END AS {POS} "
        f"FROM (SELECT {', '.join(keys)}, {ROW}, {order.probe_key(T)} AS {KEY} FROM {probes}) e "
        f"ASOF LEFT JOIN ({rows}) s ON {on} AND e.{KEY} >= s.{KEY}"
    )


def latest_rows(
    con: duckdb.DuckDBPyConnection, wanted: Wanted, at: int, start: int | None = None
) -> pa.Table:
    """Each entity's latest row with event time in ``[start, at]`` and within the TTL of ``at``.

    Columns: the join keys, the features (as ``wanted.columns``) and ``__sy_t``, the row's
    event time in the source's unit. Entities with a missing join key are left out. As in
    :func:`point_in_time`, the aggregation carries only the keys and the packed order (the
    latest row's time and place are unpacked from its maximum); the features of the chosen
    rows are then fetched by place.
    """
    source, ttl = wanted.source, wanted.ttl
    lows = [
        v for v in (None if ttl is None else at - ttl, None if start is None else start - 1) if v is not None
    ]
    order = _order(con, source, max(lows) if lows else None, at)
    time, keys = source.time_sql(), ", ".join(_keys(source))
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in _keys(source))
    rows = (
        f"SELECT {keys}, {order.source_key(time, source.created_sql())} AS {KEY} FROM {source.relation} "
        f"WHERE {time} > {order.lo} AND {time} <= {at} AND {not_null}"
    )
    latest = f"SELECT {keys}, max({KEY}) AS {KEY} FROM ({rows}) GROUP BY ALL"
    query = (
        f"SELECT {', '.join(_keys(source, 'm.'))}, {wanted.feature_sql('s.')}, "
        f"{order.time_of(f'm.{KEY}')} AS {T} FROM ({latest}) m "
        f"JOIN {source.relation} s ON {order.pos_of(f'm.{KEY}')} = s.{POS}"
    )
    with _reading(source):
        return con.sql(query).to_arrow_table()


def _reading(source: Source) -> Any:
    """DuckDB errors while reading a source's rows (a bad cast, a corrupt file) as InvalidInputError."""
    return duckdb_errors(source.label, {"view": source.view.name})
