"""Materialisation: each entity's latest feature values, packed and written to the online store.

One DuckDB aggregation per view picks each entity's latest row with event time in
``[start, end]`` and within the TTL of ``end`` (the same ordering rules as historical
retrieval, so online values equal ``historical`` at ``end``). Each entity becomes one
packed record (:func:`shipyard.features.online.codec.pack`), written in batches. The
record's event time is rounded *up* to the millisecond, so the online TTL check
(``event_ms > now - ttl``) agrees with the offline one at millisecond times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipyard.features.offline import T, Wanted, latest_rows
from shipyard.features.online.codec import entity_keys, pack

if TYPE_CHECKING:
    import duckdb

    from shipyard.features.online.base import OnlineStore
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
        times = chunk.column(T).to_pylist()
        columns = [chunk.column(n).to_pylist() for n in names]
        records = [
            (key, pack(dict(zip(names, values, strict=True)), -(-at // per_ms)))
            for key, at, *values in zip(keys, times, *columns, strict=True)
        ]
        store.write_batch(view.name, records)
        if progress is not None:
            progress(view.name, offset + len(records), total)
    if progress is not None and total == 0:
        progress(view.name, 0, 0)
    return total
