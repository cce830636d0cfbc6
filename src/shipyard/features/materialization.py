"""Materialisation: each entity's latest feature values, packed and written to the online store.

One DuckDB aggregation per view picks each entity's latest row with event time in
``[start, end]`` and within the TTL of ``end`` (the same ordering rules as historical
retrieval, so online values equal ``historical`` at ``end``). Each entity becomes one
packed record (:func:`shipyard.features.onlinestore.codec.pack`), written in batches. The
record's event time is rounded *up* to the millisecond, so the online TTL check
(``event_ms > now - ttl``) agrees with the offline one at millisecond times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from shipyard.features.offline import T, Wanted, latest_rows
from shipyard.features.onlinestore.codec import compact, entity_keys, pack

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from shipyard.features.onlinestore.base import OnlineStore
    from shipyard.features.sources import Source

BATCH = 10_000
Progress = Callable[[str, int, int], None]
"""``progress(view, written, total)``, called after each batch."""


@dataclass(frozen=True)
class MaterializeReport:
    """What one view's materialisation wrote."""

    view: str
    version: int
    rows: int
    start_ms: int | None
    end_ms: int
    seconds: float


def write_view(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    store: OnlineStore,
    end: int,
    start: int | None,
    progress: Progress | None = None,
) -> int:
    """Write the latest row of every entity of ``source``'s view; how many were written.

    ``end`` and ``start`` are in the source's time unit (see :attr:`Source.unit`).
    """
    view = source.view
    names = view.feature_names
    table = latest_rows(con, Wanted(source, names, names), end, start)
    total = int(table.num_rows)
    per_ms = 1000 if source.unit == "us" else 1_000_000
    for offset in range(0, total, BATCH):
        chunk = table.slice(offset, BATCH)
        keys = entity_keys([chunk.column(k).to_pylist() for k in view.join_keys])
        times = [-(-at // per_ms) for at in chunk.column(T).to_pylist()]
        records = list(zip(keys, _packed(chunk, names, times), strict=True))
        store.write_batch(view.name, records)
        if progress is not None:
            progress(view.name, offset + len(records), total)
    if progress is not None and total == 0:
        progress(view.name, 0, 0)
    return total


def _packed(chunk: pa.Table, names: tuple[str, ...], times: list[int]) -> list[bytes]:
    """Each row of ``chunk`` packed as :func:`pack` does.

    When every value is one JSON writes as it is (no NaN or infinity, no timestamp),
    ``pack`` writes ``[event_ms, {name: value}]`` with orjson; that is done here for the
    whole chunk without ``pack``'s per-value checks (a test holds the two equal).
    """
    rows = chunk.select(list(names)).to_pylist()
    if all(_plain(chunk.column(n)) for n in names):
        dumps = orjson.dumps
        return [compact(dumps([at, row])) for at, row in zip(times, rows, strict=True)]
    return [pack(row, at) for at, row in zip(times, rows, strict=True)]


def _plain(column: pa.ChunkedArray) -> bool:
    """Whether every value of ``column`` is stored by :func:`pack` as plain JSON."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_floating(kind):
        return not pc.any(pc.invert(pc.is_finite(column))).as_py()
    return bool(pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_boolean(kind))
