"""One prediction, from parsed columns to outputs: route, features, check, model, log, shadow.

Both front doors (``/v1`` and the V2 protocol) parse their own payloads into
:class:`~shipyard.server.dataplane.inputs.Columns` and hand them to
:meth:`Inference.predict`; they differ only in how they answer.

The prediction log gets one record per row (a request of ``n > 1`` rows logs
``<request id>/0`` ... ``<request id>/<n-1>``), handed to the serving service's
non-blocking :class:`~shipyard.serving.prediction_log.PredictionLogger`.

Shadow copies go on a bounded queue after the answer is sent; one background task
drains it in batches (one model call per shadow model per batch), logs the outputs
with ``shadow=True`` and returns them to nobody. A full queue drops the copy and
counts it: a shadow never slows or fails the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ShipyardError
from shipyard.server.dataplane.inputs import Columns, Prepared, RequestRejected
from shipyard.server.dataplane.runners import Outcome, predict_batch

if TYPE_CHECKING:
    from shipyard.features.service import FeaturesService
    from shipyard.server.dataplane.live import LiveDeployment, LiveRoute
    from shipyard.server.dataplane.metrics import ServingMetrics
    from shipyard.serving.prediction_log import PredictionLogger

log = logging.getLogger("shipyard.serving.dataplane")
SHADOW_BATCH = 1024
SHADOW_LINGER_S = 0.1
SHADOW_DRAIN_S = 10.0
HAND_OVER_S = 0.05
HAND_OVER_RECORDS = 1000


@dataclass(frozen=True)
class Answer:
    route: LiveRoute
    outcome: Outcome
    columns: Columns  # what the request gave (features included), for the shadows
    prepared: Prepared  # what the model was given


@dataclass(frozen=True)
class _ShadowCopy:
    deployment: str
    routes: tuple[LiveRoute, ...]
    answer: Answer
    request_id: str


class Inference:
    """The prediction path shared by the endpoints, with the prediction log and the shadow queue."""

    def __init__(
        self,
        executor: Executor,
        metrics: ServingMetrics,
        logger: PredictionLogger | None,
        features: Callable[[], FeaturesService],
        shadow_queue_size: int,
    ) -> None:
        self.executor = executor
        self.metrics = metrics
        self.logger = logger
        self._features = features
        self._shadow_size = shadow_queue_size
        self._shadows: asyncio.Queue[_ShadowCopy] | None = None
        self._shadow_task: asyncio.Task[None] | None = None
        self._busy = False
        self._held: list[dict[str, Any]] = []
        self._hand_over_at: asyncio.TimerHandle | None = None

    # -- the request path --------------------------------------------------------------------
    async def predict(
        self,
        deployment: LiveDeployment,
        columns: Columns,
        key: str | None,
        proba: bool,
        route: LiveRoute | None,
    ) -> Answer:
        """The answer of ``deployment`` (or of ``route`` when the caller picked one)."""
        chosen = route or deployment.route_for(key)
        target = chosen.target
        if proba and target.model.task != "classifier":
            raise RequestRejected(
                400,
                f"return_proba: {target.model_version} is not a classifier "
                f"(task: {target.model.task or 'unknown'}), it has no class probabilities",
            )
        if deployment.features is not None:
            columns = await self._with_features(deployment.features, columns)
        prepared = target.plan.prepare(columns, proba)
        try:
            outcome = await target.runner.run(prepared)
        except ShipyardError as exc:
            raise RequestRejected(exc.status, exc.message, exc.details) from exc
        except Exception as exc:
            log.error(
                "deployment %s: %s failed to predict", deployment.name, target.model_version, exc_info=exc
            )
            raise RequestRejected(
                500, f"the model {target.model_version} failed ({type(exc).__name__}: {exc})"
            ) from exc
        return Answer(chosen, outcome, columns, prepared)

    async def _with_features(self, service: str, columns: Columns) -> Columns:
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(self.executor, self._read_features, service, columns.rows())
        except ShipyardError as exc:
            raise RequestRejected(exc.status if exc.status != 500 else 503, exc.message, exc.details) from exc
        return Columns(data, columns.count)

    def _read_features(self, service: str, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
        return self._features().online(rows, service=service)

    def record(self, deployment: str, answer: Answer, request_id: str, started: float) -> None:
        """Count the answer and hand its rows to the prediction log."""
        target = answer.route.target
        seconds = time.perf_counter() - started
        self.metrics.answered(deployment, answer.route.name, target.model_version, seconds)
        if self.logger is not None:
            self._log(
                deployment,
                answer.route.name,
                target.model_version,
                answer.prepared,
                answer.outcome,
                request_id,
                seconds * 1000.0,
                shadow=False,
            )

    def record_failure(
        self,
        deployment: str,
        route: LiveRoute | None,
        columns: Columns | None,
        request_id: str,
        started: float,
        exc: RequestRejected,
    ) -> None:
        """Log a request ``deployment`` refused or failed: one record with a null prediction, the
        status answered and the error (what the ``error_rate`` check counts)."""
        if self.logger is None:
            return
        latency_ms = (time.perf_counter() - started) * 1000.0
        rows: list[dict[str, Any]] = [{}] if columns is None else (columns.rows() or [{}])
        self._held.extend(
            {
                "request_id": request_id if len(rows) == 1 else f"{request_id}/{i}",
                "ts_ms": int(time.time() * 1000),
                "deployment": deployment,
                "route": None if route is None else route.name,
                "model_version": None if route is None else route.target.model_version,
                "inputs": row,
                "prediction": None,
                "probabilities": None,
                "latency_ms": latency_ms,
                "shadow": False,
                "status": exc.status,
                "error": exc.message,
            }
            for i, row in enumerate(rows)
        )
        self._schedule_hand_over()

    def _log(
        self,
        deployment: str,
        route: str,
        version: str,
        prepared: Prepared,
        outcome: Outcome,
        request_id: str,
        latency_ms: float,
        shadow: bool,
    ) -> None:
        ts = int(time.time() * 1000)
        predictions, probabilities = outcome.predictions, outcome.probabilities
        count = len(predictions)
        held = self._held
        rows = prepared.rows()
        for i in range(count):
            held.append(
                {
                    "request_id": request_id if count == 1 else f"{request_id}/{i}",
                    "ts_ms": ts,
                    "deployment": deployment,
                    "route": route,
                    "model_version": version,
                    "inputs": rows[i],
                    "prediction": predictions[i],
                    "probabilities": None if probabilities is None else probabilities[i],
                    "latency_ms": latency_ms,
                    "shadow": shadow,
                }
            )
        self._schedule_hand_over()

    def _schedule_hand_over(self) -> None:
        if len(self._held) >= HAND_OVER_RECORDS:
            self.hand_over()
        elif self._hand_over_at is None:
            self._hand_over_at = asyncio.get_running_loop().call_later(HAND_OVER_S, self.hand_over)

    def hand_over(self) -> None:
        """Give the records held on the loop to the prediction logger, all at once.

        Records wait here up to ``HAND_OVER_S``: one hand-over wakes the logger's writer
        thread once for many records, instead of once per request, which would make the
        loop and the writer pass the GIL back and forth on every answer.
        """
        if self._hand_over_at is not None:
            self._hand_over_at.cancel()
            self._hand_over_at = None
        held, self._held = self._held, []
        if self.logger is not None and held:
            self.logger.log_many(held)

    # -- shadows ---------------------------------------------------------------------------
    def send_to_shadows(self, deployment: LiveDeployment, answer: Answer, request_id: str) -> None:
        """Queue a copy of the answered request for the deployment's shadow routes (dropped when full)."""
        if not deployment.shadows:
            return
        if self._shadows is None:
            self._shadows = asyncio.Queue(self._shadow_size)
            self._shadow_task = asyncio.get_running_loop().create_task(self._drain_shadows())
        try:
            self._shadows.put_nowait(_ShadowCopy(deployment.name, deployment.shadows, answer, request_id))
        except asyncio.QueueFull:
            for route in deployment.shadows:
                self.metrics.shadow_dropped(deployment.name, route.name, "queue_full")

    async def _drain_shadows(self) -> None:
        assert self._shadows is not None
        while True:
            copies = [await self._shadows.get()]
            self._busy = True
            await asyncio.sleep(SHADOW_LINGER_S)  # let copies gather: one model call for many
            while len(copies) < SHADOW_BATCH and not self._shadows.empty():
                copies.append(self._shadows.get_nowait())
            try:
                await self._run_shadows(copies)
            except Exception:
                log.exception("shadow predictions failed")
            finally:
                self._busy = False

    async def _run_shadows(self, copies: list[_ShadowCopy]) -> None:
        groups: dict[int, tuple[str, LiveRoute, list[tuple[Prepared, str]]]] = {}
        for copy in copies:
            for route in copy.routes:
                try:
                    prepared = _for_shadow(route, copy.answer)
                except RequestRejected:
                    self.metrics.shadow_dropped(copy.deployment, route.name, "input")
                    continue
                key = id(route.target)
                groups.setdefault(key, (copy.deployment, route, []))[2].append((prepared, copy.request_id))
        loop = asyncio.get_running_loop()
        for deployment, route, items in groups.values():
            target = route.target
            started = time.perf_counter()
            batch = [p for p, _ in items]
            try:
                if target.inline:
                    outcomes = predict_batch(target.model, batch)
                else:
                    outcomes = await loop.run_in_executor(self.executor, predict_batch, target.model, batch)
            except Exception as exc:
                log.warning("shadow %s/%s (%s) failed: %s", deployment, route.name, target.model_version, exc)
                self.metrics.shadow_dropped(deployment, route.name, "model_error", len(items))
                continue
            latency_ms = (time.perf_counter() - started) * 1000.0
            self.metrics.shadow(deployment, route.name, target.model_version, len(items))
            if self.logger is not None:
                for (prepared, request_id), outcome in zip(items, outcomes, strict=True):
                    self._log(
                        deployment,
                        route.name,
                        target.model_version,
                        prepared,
                        outcome,
                        request_id,
                        latency_ms,
                        shadow=True,
                    )

    async def close(self) -> None:
        """Finish the queued shadow copies (for at most ``SHADOW_DRAIN_S``), hand every record over."""
        await self._stop_shadows()
        self.hand_over()

    async def _stop_shadows(self) -> None:
        if self._shadow_task is None or self._shadows is None:
            return
        deadline = time.monotonic() + SHADOW_DRAIN_S
        while (self._busy or not self._shadows.empty()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._shadow_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._shadow_task


def _for_shadow(route: LiveRoute, answer: Answer) -> Prepared:
    """The shadow's input: the primary's own when both models take the same columns, else checked anew."""
    plan = route.target.plan
    prepared = answer.prepared
    if plan.key is not None and plan.key == answer.route.target.plan.key:
        return dataclasses.replace(prepared, proba=False) if prepared.proba else prepared
    return plan.prepare(answer.columns)
