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

The data plane hands over :class:`Answered` items rather than record dicts: one per
request and model, holding the float matrix the model was given. Their rows become
records only when the segment is built, column by column: the typed input columns are
slices of the stacked matrices, and the ``inputs`` and ``prediction`` JSON texts are
written by DuckDB, which does not hold the GIL, so the thread serving requests hardly
notices the log.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import math
import queue
import threading
import time
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import duckdb
    import numpy as np
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

EXACT_INT = 2**53  # ints a float64 holds exactly


@dataclass(frozen=True, eq=False)
class InputLayout:
    """How a numeric model's inputs lie in the float matrix it is given: one column per name,
    in order, with the signature's dtype (``float``, ``int`` or ``bool``). Built once per loaded
    model and shared by its :class:`Answered` items."""

    names: tuple[str, ...]
    dtypes: tuple[str, ...]

    @property
    def exact(self) -> bool:
        """Whether the matrix holds every value exactly, whatever was sent: no ``int`` input (an
        int beyond 2**53 is rounded), so the values as sent need not be kept."""
        return "int" not in self.dtypes


class Answered(NamedTuple):
    """One request answered by one model, as the data plane hands it to the log: its rows become
    records (request id ``<request_id>`` for one row, ``<request_id>/<i>`` for several) when the
    segment is built; a batch of requests (a shadow's) gives a tuple, the id of each row.
    ``matrix`` holds the inputs as the model got them (a missing float is NaN); ``columns`` the
    values as sent when the layout has ``int`` inputs (exact beyond 2**53), else None: holding
    them would keep a list per input and request alive for the collector to walk."""

    request_id: str | tuple[str, ...]
    ts_ms: int
    deployment: str
    route: str
    model_version: str
    shadow: bool
    latency_ms: float
    layout: InputLayout
    matrix: np.ndarray[Any, Any]
    columns: Mapping[str, list[Any]] | None
    predictions: list[Any]
    probabilities: list[list[float]] | None


#: What the logger takes: a record dict (keys: :data:`RECORD_KEYS`) or an :class:`Answered`.
Logged = dict[str, Any] | Answered

#: What the logger calls to store one segment: ``write(deployment, records)``.
SegmentWriter = Callable[[str, list[Logged]], None]


def rows_of(item: Logged) -> int:
    """How many records ``item`` stands for."""
    return len(item.predictions) if isinstance(item, Answered) else 1


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
        self._queue: queue.Queue[list[Logged] | _Flush] = queue.Queue()
        self._queued = 0
        self._lock = threading.Lock()  # guards the buffers, the records being written and counters
        self._buffers: dict[str, list[Logged]] = {}
        self._writing: list[Logged] = []
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

    def log_many(self, records: Sequence[Logged], rows: int | None = None) -> int:
        """Queue ``records`` (dicts or :class:`Answered`) at once: one wake-up of the writer thread
        for all of them. ``rows`` is how many records they stand for, when the caller knows.
        Returns how many records were accepted: those beyond the capacity, or all when the
        logger is closed, are dropped and counted. Never blocks."""
        if not records:
            return 0
        total = sum(map(rows_of, records)) if rows is None else rows
        if self._closed:
            self._drop("the prediction logger is closed", total)
            return 0
        with self._lock:
            room = self.capacity - self._queued
            accepted, taken = (list(records), total) if total <= room else _within(records, room)
            self._queued += taken
            self._logged += taken
        if accepted:
            self._queue.put_nowait(accepted)
        if taken < total:
            self._drop(f"the prediction log queue is full ({self.capacity} records)", total - taken)
        return taken

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
            if isinstance(record, Answered):
                ids = _row_ids(record.request_id, len(record.predictions))
                deployment = record.deployment
            else:
                ids, deployment = [record.get("request_id")], record.get("deployment")
            for request_id in ids:
                if request_id in wanted:
                    found[str(request_id)] = str(deployment)
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

    def _next(self) -> list[Logged] | _Flush | None:
        """The next item, waiting at most until the oldest held record is due."""
        with self._lock:
            oldest = self._oldest
        wait = self.flush_interval_s if oldest is None else oldest + self.flush_interval_s - time.monotonic()
        try:
            return self._queue.get(timeout=max(wait, 0.001))
        except queue.Empty:
            return None

    def _hold(self, records: list[Logged]) -> None:
        kept: dict[str, list[Logged]] = {}
        rows = refused = 0
        for record in records:
            if isinstance(record, Answered):  # built by the data plane: checked there
                kept.setdefault(record.deployment, []).append(record)
                rows += len(record.predictions)
                continue
            rows += 1
            problem = _problem(record)
            if problem is not None:
                log.error("prediction record refused: %s", problem)
                refused += 1
                continue
            kept.setdefault(record["deployment"], []).append(record)
        with self._lock:
            self._queued -= rows
            self._failed += refused
            for deployment, batch in kept.items():
                self._buffers.setdefault(deployment, []).extend(batch)
            self._buffered += rows - refused
            if self._oldest is None and rows > refused:
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
            for segment in _cut(records, self.segment_rows):
                self._write_segment(deployment, segment)
        with self._lock:
            self._writing = []

    def _write_segment(self, deployment: str, records: list[Logged]) -> None:
        rows = sum(map(rows_of, records))
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self._write(deployment, records)
            except Exception:
                if attempt < WRITE_ATTEMPTS:
                    time.sleep(0.2 * attempt)
                    continue
                log.exception(
                    "could not write a prediction log segment of %s: %d record(s) lost", deployment, rows
                )
                with self._lock:
                    self._failed += rows
                return
            with self._lock:
                self._written += rows
                self._segments += 1
            return


def _row_ids(request_id: str | tuple[str, ...], rows: int) -> Sequence[str]:
    """The record id of each of an :class:`Answered`'s ``rows``."""
    if isinstance(request_id, tuple):
        return request_id
    return [request_id] if rows == 1 else [f"{request_id}/{i}" for i in range(rows)]


def _within(records: Sequence[Logged], room: int) -> tuple[list[Logged], int]:
    """The first of ``records`` that fit in ``room`` records, and how many records they are."""
    taken: list[Logged] = []
    rows = 0
    for record in records:
        count = rows_of(record)
        if rows + count > room:
            break
        taken.append(record)
        rows += count
    return taken, rows


def _cut(records: list[Logged], segment_rows: int) -> list[list[Logged]]:
    """``records`` in runs of at most ``segment_rows`` records (an item of more goes alone)."""
    if len(records) <= segment_rows and all(type(r) is not Answered for r in records):
        return [records]
    runs: list[list[Logged]] = [[]]
    rows = 0
    for record in records:
        count = rows_of(record)
        if runs[-1] and rows + count > segment_rows:
            runs.append([])
            rows = 0
        runs[-1].append(record)
        rows += count
    return runs


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
def segment_table(records: Sequence[Logged]) -> pa.Table:
    """The Parquet table of one segment (columns in the module docstring)."""
    plain: list[dict[str, Any]] = []
    answered: dict[int, list[Answered]] = {}  # by layout: one table each
    for record in records:
        if type(record) is Answered:
            answered.setdefault(id(record.layout), []).append(record)
        else:
            plain.append(record)  # type: ignore[arg-type]
    tables = [_answered_table(items) for items in answered.values()]
    if plain or not tables:
        tables.insert(0, _records_table(plain))
    return tables[0] if len(tables) == 1 else _combine(tables)


def _records_table(records: list[dict[str, Any]]) -> pa.Table:
    """The table of record dicts."""
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


def _answered_table(items: list[Answered]) -> pa.Table:
    """The table of :class:`Answered` items of one layout: the same columns as
    :func:`_records_table` would give their records, built a column at a time."""
    import numpy as np
    import pyarrow as pa

    layout = items[0].layout
    counts = [len(item.predictions) for item in items]
    rows = sum(counts)
    fields = list(zip(*items, strict=True))
    request_ids: list[str] = fields[0]
    take = None
    if rows != len(items) or tuple in set(map(type, request_ids)):  # several rows, or batches
        take = pa.array(np.repeat(np.arange(len(items)), counts))
        request_ids = [i for rid, n in zip(request_ids, counts, strict=True) for i in _row_ids(rid, n)]
        predictions = list(itertools.chain.from_iterable(fields[10]))
    else:
        predictions = [p[0] for p in fields[10]]

    def each(values: Sequence[Any], type: pa.DataType) -> pa.Array:
        array = pa.array(values, type)
        return array if take is None else array.take(take)

    matrices = fields[8]
    matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
    typed = _typed_matrix(layout, matrix, items)
    prediction, inputs = _json_columns(layout, typed, predictions, items)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "request_id": pa.array(request_ids, pa.string()),
        "ts_ms": each(fields[1], pa.int64()),
        "deployment": each(fields[2], pa.string()),
        "route": each(fields[3], pa.string()),
        "model_version": each(fields[4], pa.string()),
        "shadow": each(fields[5], pa.bool_()),
        "latency_ms": each(fields[6], pa.float64()),
        "prediction": prediction,
        "probabilities": _probabilities(fields[11], counts, rows),
        "inputs": inputs,
        "status": pa.array(np.full(rows, 200, dtype=np.int32)),
        "error": pa.nulls(rows, pa.string()),
    }
    for name, array in zip(layout.names, typed, strict=True):
        if array is not None:
            columns[INPUT_PREFIX + name] = array
    return pa.table(columns)


def _typed_matrix(
    layout: InputLayout, matrix: np.ndarray[Any, Any], items: list[Answered]
) -> list[pa.Array | None]:
    """One typed array per input of ``layout`` (None: an int beyond int64, kept in the JSON only)."""
    import numpy as np
    import pyarrow as pa

    by_column = np.ascontiguousarray(matrix.T)
    typed: list[pa.Array | None] = []
    for name, dtype, values in zip(layout.names, layout.dtypes, by_column, strict=True):
        if dtype == "float":
            typed.append(pa.array(values, pa.float64(), from_pandas=True))  # NaN: a missing value
        elif dtype == "bool":
            typed.append(pa.array(values != 0.0, pa.bool_()))
        elif bool(np.all(np.abs(values) < EXACT_INT)):
            typed.append(pa.array(values.astype(np.int64)))
        else:  # ints the matrix rounded: the values as sent
            try:
                typed.append(pa.array(_sent(items, name), pa.int64()))
            except (OverflowError, pa.ArrowException):
                typed.append(None)
    return typed


def _probabilities(values: Sequence[list[list[float]] | None], counts: list[int], rows: int) -> pa.Array:
    import pyarrow as pa

    kind = pa.list_(pa.float64())
    if all(v is None for v in values):
        return pa.nulls(rows, kind)
    flat = [row for v, n in zip(values, counts, strict=True) for row in (v if v is not None else [None] * n)]
    return pa.array(flat, kind)


def _json_columns(
    layout: InputLayout, typed: list[pa.Array | None], predictions: list[Any], items: list[Answered]
) -> tuple[pa.Array, pa.Array]:
    """The ``prediction`` and ``inputs`` JSON texts: written by DuckDB (without the GIL) from the
    typed arrays; by orjson, value by value, for what DuckDB would not write as JSON does."""
    import pyarrow as pa
    import pyarrow.compute as pc

    prediction = _json_safe(predictions)
    inputs_ok = all(a is not None for a in typed) and len({n.lower() for n in layout.names}) == len(
        layout.names
    )
    inputs_ok = inputs_ok and not any(
        pc.any(pc.is_inf(a)).as_py() for a in typed if a is not None and a.type == pa.float64()
    )
    columns: dict[str, pa.Array] = {f"c{j}": a for j, a in enumerate(typed) if a is not None}
    select = []
    if prediction is not None:
        columns["prediction"] = prediction
        select.append("coalesce(to_json(prediction)::VARCHAR, 'null') AS prediction")
    if inputs_ok:
        fields = ", ".join(f"{_identifier(name)} := c{j}" for j, name in enumerate(layout.names))
        select.append(f"to_json(struct_pack({fields}))::VARCHAR AS inputs")
    written: dict[str, pa.Array] = {}
    if select:
        import duckdb

        con = _duckdb()
        try:
            con.register("__sy_log", pa.table(columns))
            out = con.sql(f"SELECT {', '.join(select)} FROM __sy_log").to_arrow_table()
            written = {name: out.column(name).combine_chunks().cast(pa.string()) for name in out.column_names}
        except duckdb.Error:
            log.debug("DuckDB could not write the JSON columns; orjson writes them", exc_info=True)
        finally:
            con.unregister("__sy_log")
    if "prediction" not in written:
        written["prediction"] = pa.array([_json(p) for p in predictions], pa.string())
    if "inputs" not in written:
        values = [
            _sent(items, name) if a is None else a.to_pylist()
            for name, a in zip(layout.names, typed, strict=True)
        ]
        rows = (dict(zip(layout.names, row, strict=True)) for row in zip(*values, strict=True))
        written["inputs"] = pa.array([_json(row) for row in rows], pa.string())
    return written["prediction"], written["inputs"]


def _sent(items: list[Answered], name: str) -> list[Any]:
    """The values of input ``name`` as the requests sent them (layouts with ``int`` inputs)."""
    return list(itertools.chain.from_iterable((item.columns or {})[name] for item in items))


def _json_safe(values: list[Any]) -> pa.Array | None:
    """``values`` as an Arrow array DuckDB writes as the same JSON as orjson (non-finite floats as
    null), or None when they are not of one plain kind."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, OverflowError, ValueError, TypeError):
        return None
    kind = array.type
    if kind in (pa.int64(), pa.bool_(), pa.string(), pa.null()):
        return array
    if kind == pa.float64():
        return pc.if_else(pc.is_inf(array), pa.scalar(None, kind), array)
    if pa.types.is_list(kind) and kind.value_type in (pa.int64(), pa.float64(), pa.bool_(), pa.string()):
        if kind.value_type == pa.float64() and pc.any(pc.invert(pc.is_finite(array.flatten()))).as_py():
            return None  # DuckDB writes NaN and Infinity inside a list
        return array
    return None


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_local = threading.local()


def _duckdb() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection (one thread: the log shares the machine with the server)."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "duckdb", None)
    if con is None:
        import duckdb

        con = duckdb.connect(":memory:", config={"threads": 1})
        _local.duckdb = con
    return con


def _combine(tables: list[pa.Table]) -> pa.Table:
    """One table of ``tables``: a typed input column whose kinds differ between them becomes
    float64 (ints and floats, every int exact as a float) or is left out (the JSON has it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns: dict[str, list[pa.ChunkedArray]] = {}
    for table in tables:
        for name in table.column_names:
            if name.startswith(INPUT_PREFIX) and table.schema.field(name).type != pa.null():
                columns.setdefault(name, []).append(table.column(name))
    floats: set[str] = set()
    dropped: set[str] = set()
    for name, parts in columns.items():
        kinds = {part.type for part in parts}
        if len(kinds) == 1:
            continue
        ints = [part for part in parts if part.type == pa.int64()]
        if kinds == {pa.int64(), pa.float64()} and all(
            (pc.max(pc.abs(part)).as_py() or 0) <= EXACT_INT for part in ints
        ):
            floats.add(name)
        else:
            dropped.add(name)
    if floats or dropped:
        fixed = []
        for table in tables:
            for name in dropped & set(table.column_names):
                table = table.remove_column(table.column_names.index(name))
            for name in floats & set(table.column_names):
                index = table.column_names.index(name)
                table = table.set_column(index, name, table.column(name).cast(pa.float64()))
            fixed.append(table)
        tables = fixed
    return pa.concat_tables(tables, promote_options="default")


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
