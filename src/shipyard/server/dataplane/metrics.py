"""Prometheus metrics of the data plane, served at ``GET /metrics``.

=============================================  =========================================
``shipyard_serving_requests_total``            answered requests, by deployment, route
                                               and model version
``shipyard_serving_errors_total``              requests answered with an error, by
                                               deployment and HTTP status
``shipyard_serving_request_duration_seconds``  latency histogram (parse to answer), by
                                               deployment and model version
``shipyard_serving_batch_size``                rows per model call of micro-batched routes
``shipyard_serving_shadow_total``              shadow predictions made, by route and version
``shipyard_serving_shadow_dropped_total``      shadow copies dropped (queue full or failed)
``shipyard_serving_model_loads_total``         model loads, by outcome (loaded, failed)
``shipyard_serving_prediction_log_dropped``    records the prediction log had to drop
=============================================  =========================================

Each app has a registry of its own, so several apps can live in one process (tests).
Label children are cached: an observation costs a dict lookup and the metric's own lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServingMetrics:
    """The data plane's counters and histograms, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._requests = Counter(
            "shipyard_serving_requests", "Answered prediction requests.",
            ["deployment", "route", "model_version"], registry=r,
        )  # fmt: skip
        self._errors = Counter(
            "shipyard_serving_errors",
            "Requests answered with an error.",
            ["deployment", "status"],
            registry=r,
        )
        self._latency = Histogram(
            "shipyard_serving_request_duration_seconds", "Time from request to answer.",
            ["deployment", "model_version"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self._batch = Histogram(
            "shipyard_serving_batch_size", "Rows per model call of a micro-batched route.",
            ["deployment", "route"], buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self._shadow = Counter(
            "shipyard_serving_shadow", "Shadow predictions made.",
            ["deployment", "route", "model_version"], registry=r,
        )  # fmt: skip
        self._shadow_dropped = Counter(
            "shipyard_serving_shadow_dropped", "Shadow copies dropped (queue full, or the shadow failed).",
            ["deployment", "route", "reason"], registry=r,
        )  # fmt: skip
        self._loads = Counter(
            "shipyard_serving_model_loads", "Model loads.", ["deployment", "route", "outcome"], registry=r
        )
        self.log_dropped = Gauge(
            "shipyard_serving_prediction_log_dropped", "Prediction records the log had to drop.", registry=r
        )
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def answered(self, deployment: str, route: str, version: str, seconds: float) -> None:
        self._child(self._requests, deployment, route, version).inc()
        self._child(self._latency, deployment, version).observe(seconds)

    def error(self, deployment: str, status: int) -> None:
        self._child(self._errors, deployment, str(status)).inc()

    def shadow(self, deployment: str, route: str, version: str, count: int = 1) -> None:
        self._child(self._shadow, deployment, route, version).inc(count)

    def shadow_dropped(self, deployment: str, route: str, reason: str, count: int = 1) -> None:
        self._child(self._shadow_dropped, deployment, route, reason).inc(count)

    def model_load(self, deployment: str, route: str, outcome: str) -> None:
        self._child(self._loads, deployment, route, outcome).inc()

    def batch_observer(self, deployment: str, route: str) -> Callable[[int], None]:
        observe: Callable[[int], None] = self._child(self._batch, deployment, route).observe
        return observe

    def render(self) -> bytes:
        return generate_latest(self.registry)
