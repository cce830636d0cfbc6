"""The active-run stack behind ``sy.start_run`` and the fluent ``sy.log_*`` functions."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.tracking.buffer import MetricBuffer
from shipyard.tracking.lineage import capture_lineage
from shipyard.tracking.run import Run
from shipyard.tracking.service import TrackingService

_stack: list[Run] = []
_lock = threading.Lock()
_buffers: dict[int, MetricBuffer] = {}


def buffer_for(
    service: TrackingService, interval_ms: int, batch_size: int, heartbeat_s: float
) -> MetricBuffer:
    """One buffer per service per process."""
    with _lock:
        buffer = _buffers.get(id(service))
        if buffer is None or buffer.service is not service:
            buffer = _buffers[id(service)] = MetricBuffer(service, interval_ms, batch_size, heartbeat_s)
        return buffer


def start_run(
    service: TrackingService,
    buffer: MetricBuffer,
    experiment: str,
    run_name: str | None,
    tags: Mapping[str, Any] | None,
    capture_packages: bool,
) -> Run:
    record = service.create_run(experiment, run_name, tags, capture_lineage(capture_packages))
    run = Run(service, record, buffer, on_exit=_pop)
    with _lock:
        _stack.append(run)
    return run


def active_run() -> Run | None:
    with _lock:
        return _stack[-1] if _stack else None


def require_active_run() -> Run:
    run = active_run()
    if run is None:
        raise InvalidInputError("no active run: start one with `with sy.start_run(experiment=...) as run:`")
    return run


def _pop(run: Run) -> None:
    with _lock:
        if run in _stack:
            _stack.remove(run)
