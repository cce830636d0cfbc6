"""Columnar packing of metric points: one chunk per key per written batch.

A chunk holds ``count`` points as three little-endian arrays (int64 steps, int64
timestamps, float64 values). NaN and +/-inf survive bit for bit.

>>> chunks, latest = pack_chunks([("loss", 0.5, 0, 10), ("acc", 0.9, 0, 10), ("loss", 0.25, 1, 11)])
>>> [(c["key"], c["count"]) for c in chunks], latest
([('loss', 2), ('acc', 1)], [('loss', 0.25, 1, 11), ('acc', 0.9, 0, 10)])
>>> h = unpack_chunks("loss", [(c["steps"], c["timestamps"], c["vals"]) for c in chunks[:1]])
>>> h.steps, h.values
([0, 1], [0.5, 0.25])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from shipyard.tracking.models import MetricHistory
from shipyard.tracking.store.base import MetricRow

_I8 = np.dtype("<i8")
_F8 = np.dtype("<f8")


def pack_chunks(rows: Sequence[MetricRow]) -> tuple[list[dict[str, Any]], list[MetricRow]]:
    """Group a batch by key (first-seen order) into packed chunks, plus each key's latest point.

    The latest point has the greatest step, then the greatest timestamp, then was written last.
    """
    grouped: dict[str, tuple[list[int], list[int], list[float]]] = {}
    for key, value, step, ts in rows:
        columns = grouped.get(key)
        if columns is None:
            columns = grouped[key] = ([], [], [])
        columns[0].append(step)
        columns[1].append(ts)
        columns[2].append(value)
    chunks, latest = [], []
    for key, (step_list, stamp_list, value_list) in grouped.items():
        steps, stamps = np.asarray(step_list, _I8), np.asarray(stamp_list, _I8)
        values = np.asarray(value_list, _F8)
        chunks.append(
            {
                "key": key,
                "count": len(steps),
                "steps": steps.tobytes(),
                "timestamps": stamps.tobytes(),
                "vals": values.tobytes(),
            }
        )
        last = int(np.lexsort((np.arange(len(steps)), stamps, steps))[-1])
        latest.append((key, value_list[last], step_list[last], stamp_list[last]))
    return chunks, latest


def unpack_chunks(key: str, chunks: Iterable[tuple[bytes, bytes, bytes]]) -> MetricHistory:
    """Concatenate chunks (in write order) and sort by (step, timestamp), stable."""
    parts = list(chunks)
    if not parts:
        return MetricHistory(key, [], [], [])
    steps = np.concatenate([np.frombuffer(p[0], _I8) for p in parts])
    stamps = np.concatenate([np.frombuffer(p[1], _I8) for p in parts])
    values = np.concatenate([np.frombuffer(p[2], _F8) for p in parts])
    order = np.lexsort((np.arange(len(steps)), stamps, steps))
    if not np.array_equal(order, np.arange(len(order))):
        steps, stamps, values = steps[order], stamps[order], values[order]
    return MetricHistory(key, steps.tolist(), values.tolist(), stamps.tolist())
