"""The prediction log's writer: requests hand records over, a background thread writes Parquet.

:meth:`PredictionLogger.log` puts a record on a bounded in-memory queue and returns at
once: it never blocks and never raises on the request path. When the queue is full the
record is dropped and counted (``dropped``), and a warning is logged (at most every
ten seconds). A background thread takes records off the queue, keeps them per
deployment, and writes a segment (one Parquet file in the content store plus an index
row in the metadata store) every ``segment_rows`` records or ``flush_interval_s``
seconds, whichever comes first. :meth:`flush` writes what is buffered now;
:meth:`close` (graceful shutdown) writes everything and stops the thread; loggers still
open when the interpreter exits normally are closed then (``atexit``). A segment
that cannot be written is retried, then dropped and counted (``failed``).

**Columns of a segment** (see :func:`segment_table`): ``request_id``, ``ts_ms``
(int64), ``deployment``, ``route``, ``model_version`` (``"fraud:7"``), ``shadow``
(bool), ``latency_ms`` (float64), ``prediction`` (JSON text: one model may answer a
number, a class name or a list), ``probabilities`` (list<float64>, null when not
asked), ``inputs`` (the request's row as JSON text, always), ``status`` (int32: the HTTP
status answered, 200 for a prediction), ``error`` (null, or why the request failed: a
failed request is logged with a null ``prediction``), and one typed column
``input.<name>`` per input whose values in the segment are flat scalars of one kind
(bool, int64, float64 or string). Readers (DuckDB ``union_by_name``) unify segments
whose typed columns differ.
"""

from __future__ import annotations

import atexit
import logging
import math
import queue
import threading
import time
import weakref
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("shipyard.serving.prediction_log")

RECORD_KEYS = (
    "request_id",
    "ts_ms",
    "deployment",
    "route",
    "model_version",
    "inputs",
    "prediction",
    "probabilities",
    "latency_ms",
    "shadow",
    "status",
    "error",
)
INPUT_PREFIX = "input."
WARN_EVERY_S = 10.0
WRITE_ATTEMPTS = 3
CONVERT_CHUNK = 256  # values converted to Arrow per call (see _array)

#: What the logger calls to store one segment: ``write(deployment, records)``.
SegmentWriter = Callable[[str, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class LoggerStats:
    """Counters of a logger since it started (records, except ``segments``)."""

    logged: int
    dropped: int
    written: int
    failed: int
    segments: int
    pending: int


class _Flush:
    """A request to the writer thread to write what it holds, then set ``done``."""

    def __init__(self, stop: bool = False) -> None:
        self.stop = stop
        self.done = threading.Event()


class PredictionLogger:
    """A bounded queue of prediction records and the thread that writes them as segments.

    ``write`` stores one segment (the serving service gives its own); ``capacity`` bounds
    the queue; ``segment_rows`` and ``flush_interval_s`` decide when a segment is cut.
    """

    def __init__(
        self,
        write: SegmentWriter,
        *,
        capacity: int = 100_000,
        segment_rows: int = 10_000,
        flush_interval_s: float = 5.0,
    ) -> None:
        if capacity < 1 or segment_rows < 1 or flush_interval_s <= 0:
            raise ValueError("capacity and segment_rows must be >= 1, flush_interval_s > 0")
        self._write = write
        self.capacity = capacity
        self.segment_rows = segment_rows
        self.flush_interval_s = flush_interval_s
        # Items are lists of records (one hand-over each: one wake-up of the writer for many
        # records); ``_queued`` counts the records in it, ``capacity`` bounds that count.
        self._queue: queue.Queue[list[dict[str, Any]] | _Flush] = queue.Queue()
        self._queued = 0
        self._lock = threading.Lock()  # guards the buffers, the records being written and counters
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._writing: list[dict[str, Any]] = []
        self._buffered = 0
        self._oldest: float | None = None
        self._logged = self._dropped = self._written = self._failed = self._segments = 0
        self._last_warning = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="shipyard-prediction-log", daemon=True)
        self._thread.start()
        _open_loggers.add(self)

    def __repr__(self) -> str:
        return f"<PredictionLogger capacity={self.capacity} segment_rows={self.segment_rows}>"

    # -- the request path ---------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> bool:
        """Queue one record (keys: :data:`RECORD_KEYS`); False when it was dropped (queue full or
        logger closed). Never blocks."""
        return self.log_many([record]) == 1

    def log_many(self, records: list[dict[str, Any]]) -> int:
        """Queue ``records`` at once (one wake-up of the writer thread for all of them); how many
        were accepted: those beyond the capacity, or all when the logger is closed, are dropped
        and counted. Never blocks."""
        if not records:
            return 0
        if self._closed:
            self._drop("the prediction logger is closed", len(records))
            return 0
        with self._lock:
            room = self.capacity - self._queued
            accepted = records if len(records) <= room else records[: max(room, 0)]
            self._queued += len(accepted)
            self._logged += len(accepted)
        if accepted:
            self._queue.put_nowait(accepted)
        if len(accepted) < len(records):
            self._drop(
                f"the prediction log queue is full ({self.capacity} records)", len(records) - len(accepted)
            )
        return len(accepted)

    def _drop(self, why: str, count: int = 1) -> None:
        now = time.monotonic()
        with self._lock:
            self._dropped += count
            dropped = self._dropped
            warn = now - self._last_warning >= WARN_EVERY_S
            if warn:
                self._last_warning = now
        if warn:
            log.warning("%s: prediction record dropped (%d dropped so far)", why, dropped)

    # -- control ------------------------------------------------------------------------
    def flush(self, timeout: float | None = 60.0) -> bool:
        """Write every record logged before this call; True when done within ``timeout`` seconds."""
        if self._closed or not self._thread.is_alive():
            return not self._thread.is_alive()
        request = _Flush()
        self._queue.put(request)  # blocking is fine here: this is not the request path
        return request.done.wait(timeout)

    def close(self, timeout: float | None = 60.0) -> None:
        """Write everything and stop the thread (graceful shutdown); calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _open_loggers.discard(self)
        if self._thread.is_alive():
            request = _Flush(stop=True)
            self._queue.put(request)
            request.done.wait(timeout)
            self._thread.join(timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> LoggerStats:
        with self._lock:
            pending = self._queued + self._buffered + len(self._writing)
            return LoggerStats(
                self._logged, self._dropped, self._written, self._failed, self._segments, pending
            )

    def pending(self, request_ids: Collection[str]) -> dict[str, str]:
        """``{request_id: deployment}`` of those ids whose records are logged but not yet written."""
        wanted = set(request_ids)
        with self._queue.mutex:
            queued = [r for item in self._queue.queue if isinstance(item, list) for r in item]
        with self._lock:
            held = [r for b in self._buffers.values() for r in b] + self._writing
        found: dict[str, str] = {}
        for record in [*held, *queued]:
            request_id = record.get("request_id")
            if request_id in wanted:
                found[str(request_id)] = str(record.get("deployment"))
        return found

    # -- the writer thread --------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._next()
            if isinstance(item, _Flush):
                self._write_all()
                item.done.set()
                if item.stop:
                    return
                continue
            if item is not None:
                self._hold(item)
            if self._due():
                self._write_all()

    def _next(self) -> list[dict[str, Any]] | _Flush | None:
        """The next item, waiting at most until the oldest held record is due."""
        with self._lock:
            oldest = self._oldest
        wait = self.flush_interval_s if oldest is None else oldest + self.flush_interval_s - time.monotonic()
        try:
            return self._queue.get(timeout=max(wait, 0.001))
        except queue.Empty:
            return None

    def _hold(self, records: list[dict[str, Any]]) -> None:
        kept: dict[str, list[dict[str, Any]]] = {}
        refused = 0
        for record in records:
            problem = _problem(record)
            if problem is not None:
                log.error("prediction record refused: %s", problem)
                refused += 1
                continue
            kept.setdefault(record["deployment"], []).append(record)
        with self._lock:
            self._queued -= len(records)
            self._failed += refused
            for deployment, batch in kept.items():
                self._buffers.setdefault(deployment, []).extend(batch)
            self._buffered += len(records) - refused
            if self._oldest is None and len(records) > refused:
                self._oldest = time.monotonic()

    def _due(self) -> bool:
        with self._lock:
            if self._buffered >= self.segment_rows:
                return True
            return self._oldest is not None and time.monotonic() - self._oldest >= self.flush_interval_s

    def _write_all(self) -> None:
        with self._lock:
            buffers, self._buffers = self._buffers, {}
            self._writing = [r for b in buffers.values() for r in b]
            self._buffered, self._oldest = 0, None
        for deployment, records in buffers.items():
            for start in range(0, len(records), self.segment_rows):
                self._write_segment(deployment, records[start : start + self.segment_rows])
        with self._lock:
            self._writing = []

    def _write_segment(self, deployment: str, records: list[dict[str, Any]]) -> None:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self._write(deployment, records)
            except Exception:
                if attempt < WRITE_ATTEMPTS:
                    time.sleep(0.2 * attempt)
                    continue
                log.exception(
                    "could not write a prediction log segment of %s: %d record(s) lost",
                    deployment,
                    len(records),
                )
                with self._lock:
                    self._failed += len(records)
                return
            with self._lock:
                self._written += len(records)
                self._segments += 1
            return


_open_loggers: weakref.WeakSet[PredictionLogger] = weakref.WeakSet()


@atexit.register
def _close_open_loggers() -> None:
    """Write what open loggers hold when the interpreter exits normally."""
    for logger in list(_open_loggers):
        logger.close(timeout=30)


def _problem(record: Any) -> str | None:
    """Why ``record`` cannot be written, or None."""
    if not isinstance(record, dict):
        return f"a record is a dict, got {type(record).__name__}"
    for key in ("request_id", "deployment"):
        if not isinstance(record.get(key), str) or not record[key]:
            return f"{key} must be a non-empty string, got {record.get(key)!r}"
    ts = record.get("ts_ms")
    if isinstance(ts, bool) or not isinstance(ts, int):
        return f"ts_ms must be an integer (ms since the epoch), got {ts!r}"
    return None


# -- the segment's table -------------------------------------------------------------------
def segment_table(records: list[dict[str, Any]]) -> pa.Table:
    """The Parquet table of one segment (columns in the module docstring)."""
    import pyarrow as pa

    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "request_id": _array([str(r["request_id"]) for r in records], pa.string()),
        "ts_ms": _array([int(r["ts_ms"]) for r in records], pa.int64()),
        "deployment": _array([str(r["deployment"]) for r in records], pa.string()),
        "route": _array([_text(r.get("route")) for r in records], pa.string()),
        "model_version": _array([_text(r.get("model_version")) for r in records], pa.string()),
        "shadow": _array([bool(r.get("shadow", False)) for r in records], pa.bool_()),
        "latency_ms": _array([_float(r.get("latency_ms")) for r in records], pa.float64()),
        "prediction": _array([_json(r.get("prediction")) for r in records], pa.string()),
        "probabilities": _array([_floats(r.get("probabilities")) for r in records], pa.list_(pa.float64())),
        "inputs": _array([_json(r.get("inputs")) for r in records], pa.string()),
        "status": _array([_status(r) for r in records], pa.int32()),
        "error": _array([_text(r.get("error")) for r in records], pa.string()),
    }
    # A failed request's inputs stay in ``inputs`` only: its values may be of any kind (that
    # may be why it failed) and must not cost the answered rows their typed columns.
    inputs: list[Mapping[str, Any]] = [
        r["inputs"] if isinstance(r.get("inputs"), Mapping) and r.get("error") is None else {}
        for r in records
    ]
    for name, array in _typed_inputs(inputs).items():
        columns[INPUT_PREFIX + name] = array
    return pa.table(columns)


def _array(values: list[Any], type: pa.DataType | None = None) -> pa.Array | pa.ChunkedArray:
    """``pa.array(values, type)`` converted ``CONVERT_CHUNK`` values at a time.

    Converting Python objects holds the GIL for the whole call: one call over a segment's
    ten thousand rows would stall the event loop serving requests for tens of
    milliseconds. Between chunks the loop gets its turn. Chunks that infer different
    types (ints in one, floats in the next) are converted again in one call, so the
    result is what ``pa.array(values)`` infers.
    """
    import pyarrow as pa

    if len(values) <= CONVERT_CHUNK:
        return pa.array(values, type)
    parts = [pa.array(values[i : i + CONVERT_CHUNK], type) for i in range(0, len(values), CONVERT_CHUNK)]
    kinds = {p.type for p in parts if p.type != pa.null()}
    if len(kinds) > 1:
        return pa.array(values, type)
    kind = kinds.pop() if kinds else pa.null()
    return pa.chunked_array([p if p.type == kind else p.cast(kind) for p in parts], kind)


def _typed_inputs(rows: list[Mapping[str, Any]]) -> dict[str, pa.Array | pa.ChunkedArray]:
    """One typed array per input whose values are flat scalars of one kind (None allowed): bool,
    int64, float64 (ints mixed with floats count as floats, when every int is exact as a
    float: beyond 2**53 the column is left out rather than rounded) or string.

    Arrow infers each column's type in C++ (a Python loop over every value of every input
    would cost the writer thread, and the GIL, far more than the Parquet write); a column
    of mixed kinds, nested values or ints beyond int64 fails to convert or infers another
    type and is left out (the ``inputs`` JSON column still has it).
    """
    import itertools

    import pyarrow as pa

    fast = _float_columns(rows)
    if fast is not None:
        return fast
    numbers = {pa.int64(), pa.float64()}
    kept = {pa.bool_(), pa.string(), *numbers}
    typed: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in dict.fromkeys(itertools.chain.from_iterable(rows)):
        values = [row.get(name) for row in rows]
        try:
            array = _array(values)
        except (pa.ArrowException, OverflowError, ValueError, TypeError):
            continue
        if array.type in numbers and bool in set(map(type, values)):
            continue  # Arrow reads True as 1.0 among floats: bools and numbers are mixed kinds
        if array.type in kept:
            typed[str(name)] = array
    return typed


def _status(record: Mapping[str, Any]) -> int:
    status = record.get("status")
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    return 200 if record.get("error") is None else 500


def _float_columns(rows: list[Mapping[str, Any]]) -> dict[str, pa.Array] | None:
    """The typed columns of rows that all have the same keys and only float values (rows of a
    failed request, empty, give nulls), built from one float matrix; None for any other rows.

    The common case of a numeric model's log: a few C-level passes instead of a Python loop
    over every value of every input.
    """
    import itertools

    import numpy as np
    import pyarrow as pa

    present = [row for row in rows if row]
    if not present:
        return None
    keys = list(present[0])
    width = len(keys)
    if any(type(row) is not dict or len(row) != width or list(row) != keys for row in present):
        return None
    if set(map(type, itertools.chain.from_iterable(row.values() for row in present))) != {float}:
        return None
    matrix = np.array([list(row.values()) for row in present], dtype=np.float64)
    if len(present) == len(rows):
        return {str(name): pa.array(matrix[:, j]) for j, name in enumerate(keys)}
    empty = np.array([not row for row in rows])
    full = np.zeros((len(rows), width), dtype=np.float64)
    full[~empty] = matrix
    return {str(name): pa.array(full[:, j], mask=empty) for j, name in enumerate(keys)}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _floats(value: Any) -> list[float] | None:
    if value is None:
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    return [float(v) for v in value]


def _json(value: Any) -> str:
    import orjson

    try:
        return orjson.dumps(value, default=_plain, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:  # e.g. an integer beyond 64 bits: the standard library keeps it exact
        import json

        return json.dumps(_finite(value), default=_plain, allow_nan=False, separators=(",", ":"))


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has none), containers walked."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
