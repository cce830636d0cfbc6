"""Buffered metric logging: ``log_metric`` returns at once, a background writer
persists points in batches.

A batch is written when ``metric_batch_size`` points are waiting or
``metric_flush_interval_ms`` has passed since the last write, whichever comes first;
``flush()``, the end of a run and interpreter exit write everything that is left.
What a hard kill (SIGKILL, power loss) can lose is therefore bounded: the points
logged in the last flush interval (100 ms by default) that had not been written yet.
The same thread records a heartbeat for every open run.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Iterable

from shipyard.core.errors import ShipyardError
from shipyard.tracking.service import TrackingService
from shipyard.tracking.store.base import MetricRow


class MetricBuffer:
    """Per-process write-behind buffer of metric points, keyed by run id."""

    def __init__(
        self,
        service: TrackingService,
        interval_ms: int = 100,
        batch_size: int = 5000,
        heartbeat_s: float = 30.0,
    ) -> None:
        self.service = service
        self.interval = max(interval_ms, 1) / 1000
        self.batch_size = max(batch_size, 1)
        self.heartbeat_s = heartbeat_s
        self._pending: dict[str, list[MetricRow]] = {}
        self._count = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._write_lock = threading.Lock()
        self._errors: dict[str, ShipyardError | Exception] = {}
        self._open_runs: set[str] = set()
        self._thread: threading.Thread | None = None
        self._closed = False
        atexit.register(self.close)

    # -- producers -----------------------------------------------------------------
    def add(self, run_id: str, row: MetricRow) -> None:
        with self._lock:
            rows = self._pending.get(run_id)
            if rows is None:
                rows = self._pending[run_id] = []
            rows.append(row)
            self._count += 1
            if self._thread is None:
                self._start()
            if self._count >= self.batch_size:
                self._wake.notify()

    def extend(self, run_id: str, new_rows: Iterable[MetricRow]) -> None:
        with self._lock:
            rows = self._pending.get(run_id)
            if rows is None:
                rows = self._pending[run_id] = []
            before = len(rows)
            rows.extend(new_rows)
            self._count += len(rows) - before
            if self._thread is None:
                self._start()
            if self._count >= self.batch_size:
                self._wake.notify()

    def open_run(self, run_id: str) -> None:
        with self._lock:
            self._open_runs.add(run_id)
            if self._thread is None:
                self._start()

    def close_run(self, run_id: str) -> None:
        """Write the run's remaining points and stop its heartbeat; raises a deferred write error."""
        self.flush(run_id)
        with self._lock:
            self._open_runs.discard(run_id)

    # -- writing -------------------------------------------------------------------
    def flush(self, run_id: str | None = None) -> None:
        """Make every buffered point durable (of one run, or all); raise a deferred error."""
        self._write_pending()
        error = self._errors.pop(run_id, None) if run_id else next(iter(self._errors.values()), None)
        if run_id is None:
            self._errors.clear()
        if error is not None:
            raise error

    def _write_pending(self) -> None:
        with self._write_lock:
            with self._lock:
                pending, self._pending, self._count = self._pending, {}, 0
            for run_id, rows in pending.items():
                for start in range(0, len(rows), 100_000):
                    try:
                        self.service.log_metrics(run_id, rows[start : start + 100_000])
                    except Exception as exc:  # kept and raised by the next flush() of that run
                        self._errors[run_id] = exc
                        break

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="shipyard-metrics", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_s
        while True:
            with self._lock:
                if self._count < self.batch_size and not self._closed:
                    self._wake.wait(self.interval)
                closed = self._closed
            self._write_pending()
            if closed:
                return
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.heartbeat_s
                self._beat()

    def _beat(self) -> None:
        with self._lock:
            runs = list(self._open_runs)
        for run_id in runs:
            try:
                self.service.heartbeat(run_id)
            except Exception:  # a missed heartbeat is retried at the next beat
                continue

    def close(self) -> None:
        """Write everything and stop the thread (registered with ``atexit``)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        self._write_pending()
