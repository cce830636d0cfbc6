"""One prediction, from parsed columns to outputs: route, features, check, model, log, shadow.

Both front doors (``/v1`` and the V2 protocol) parse their own payloads into
:class:`~shipyard.server.dataplane.inputs.Columns` and hand them to
:meth:`Inference.predict`; they differ only in how they answer.

The prediction log gets one record per row (a request of ``n > 1`` rows logs
``<request id>/0`` ... ``<request id>/<n-1>``), handed to the serving service's
non-blocking :class:`~shipyard.serving.prediction_log.PredictionLogger`. A numeric
model's answer is handed over as it is (an
:class:`~shipyard.serving.prediction_log.Answered`: ids, outputs and the input matrix);
the logger's thread makes the records, so the request path builds no row or record.

Shadow copies go on a bounded queue after the answer is sent; one background task
drains it in batches (one model call per shadow model per batch), logs the outputs
with ``shadow=True`` and returns them to nobody. A full queue drops the copy and
counts it: a shadow never slows or fails the primary.
"""

from __future__ import annotations

import asyncio
import collections
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
from shipyard.serving.prediction_log import Answered, Logged

if TYPE_CHECKING:
    from shipyard.features.service import FeaturesService
    from shipyard.models.package import LoadedModel
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
        # Answered requests waiting for the shadow routes: (deployment, answer, request id).
        self._copies: collections.deque[tuple[LiveDeployment, Answer, str]] = collections.deque()
        self._shadow_wake: asyncio.Event | None = None
        self._shadow_task: asyncio.Task[None] | None = None
        self._busy = False
        self._held: list[Logged] = []
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
        if prepared.layout is not None and prepared.matrix is not None:  # numeric: no record built here
            self._held.append(
                Answered(
                    request_id,
                    ts,
                    deployment,
                    route,
                    version,
                    shadow,
                    latency_ms,
                    prepared.layout,
                    prepared.matrix,
                    None if prepared.layout.exact else prepared.columns,
                    predictions,
                    probabilities,
                )
            )
            self._schedule_hand_over()
            return
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
        copies = self._copies
        if len(copies) >= self._shadow_size:
            for route in deployment.shadows:
                self.metrics.shadow_dropped(deployment.name, route.name, "queue_full")
            return
        copies.append((deployment, answer, request_id))
        if len(copies) == 1:  # the drainer may be waiting for a first copy
            if self._shadow_wake is None:
                self._shadow_wake = asyncio.Event()
                self._shadow_task = asyncio.get_running_loop().create_task(self._drain_shadows())
            self._shadow_wake.set()

    async def _drain_shadows(self) -> None:
        assert self._shadow_wake is not None
        copies = self._copies
        while True:
            if not copies:
                self._shadow_wake.clear()
                await self._shadow_wake.wait()
                continue
            self._busy = True
            try:
                await asyncio.sleep(SHADOW_LINGER_S)  # let copies gather: one model call for many
                taken = [copies.popleft() for _ in range(min(len(copies), SHADOW_BATCH))]
                await self._run_shadows(taken)
            except Exception:
                log.exception("shadow predictions failed")
            finally:
                self._busy = False

    async def _run_shadows(self, copies: list[tuple[LiveDeployment, Answer, str]]) -> None:
        groups: dict[int, tuple[str, LiveRoute, list[Prepared], list[str]]] = {}
        for deployment, answer, request_id in copies:
            for route in deployment.shadows:
                try:
                    prepared = _for_shadow(route, answer)
                except RequestRejected:
                    self.metrics.shadow_dropped(deployment.name, route.name, "input")
                    continue
                group = groups.get(id(route.target))
                if group is None:
                    group = groups[id(route.target)] = (deployment.name, route, [], [])
                group[2].append(prepared)
                group[3].append(request_id)
        loop = asyncio.get_running_loop()
        for name, route, batch, request_ids in groups.values():
            target = route.target
            started = time.perf_counter()
            try:
                if target.inline:
                    done = _shadow_batch(target.model, batch)
                else:
                    done = await loop.run_in_executor(self.executor, _shadow_batch, target.model, batch)
            except Exception as exc:
                log.warning("shadow %s/%s (%s) failed: %s", name, route.name, target.model_version, exc)
                self.metrics.shadow_dropped(name, route.name, "model_error", len(batch))
                continue
            latency_ms = (time.perf_counter() - started) * 1000.0
            self.metrics.shadow(name, route.name, target.model_version, len(batch))
            if self.logger is None:
                continue
            matrix, outcomes = done
            layout = target.plan.layout
            if matrix is not None and layout is not None:  # one hand-over for the whole batch
                self._held.append(
                    Answered(
                        _row_ids(batch, request_ids),
                        int(time.time() * 1000),
                        name,
                        route.name,
                        target.model_version,
                        True,
                        latency_ms,
                        layout,
                        matrix,
                        None if layout.exact else _stacked_columns(batch),
                        outcomes[0].predictions,
                        None,
                    )
                )
                self._schedule_hand_over()
                continue
            for prepared, request_id, outcome in zip(batch, request_ids, outcomes, strict=True):
                self._log(
                    name,
                    route.name,
                    target.model_version,
                    prepared,
                    outcome,
                    request_id,
                    latency_ms,
                    True,
                )

    async def close(self) -> None:
        """Finish the queued shadow copies (for at most ``SHADOW_DRAIN_S``), hand every record over."""
        await self._stop_shadows()
        self.hand_over()

    async def _stop_shadows(self) -> None:
        if self._shadow_task is None:
            return
        deadline = time.monotonic() + SHADOW_DRAIN_S
        while (self._busy or self._copies) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._shadow_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._shadow_task


def _for_shadow(route: LiveRoute, answer: Answer) -> Prepared:
    """The shadow's input: the primary's own when both models take the same columns, else checked anew."""
    plan = route.target.plan
    prepared = answer.prepared
    if plan.same_layout(answer.route.target.plan):
        return dataclasses.replace(prepared, proba=False) if prepared.proba else prepared
    return plan.prepare(answer.columns)


def _shadow_batch(model: LoadedModel, batch: list[Prepared]) -> tuple[Any, list[Outcome]]:
    """A shadow model's outputs on ``batch``: the stacked matrix and one outcome for all its rows
    when every item has a matrix, else no matrix and an outcome per item."""
    import numpy as np

    if all(p.matrix is not None for p in batch):
        matrices = [p.matrix for p in batch if p.matrix is not None]
        matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
        return matrix, [Outcome(model.predict_rows(matrix).tolist(), None)]
    return None, predict_batch(model, batch)


def _row_ids(batch: list[Prepared], request_ids: list[str]) -> tuple[str, ...]:
    """The prediction log's id of each row of ``batch``."""
    if all(p.count == 1 for p in batch):
        return tuple(request_ids)
    return tuple(
        rid if p.count == 1 else f"{rid}/{i}"
        for p, rid in zip(batch, request_ids, strict=True)
        for i in range(p.count)
    )


def _stacked_columns(batch: list[Prepared]) -> dict[str, list[Any]]:
    names = list(batch[0].columns)
    return {name: [v for p in batch for v in p.columns[name]] for name in names}
