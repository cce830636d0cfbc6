"""The data plane application: Starlette (no FastAPI: every microsecond is on the request path).

:func:`create_dataplane` builds the app around a workspace; its lifespan loads the
deployments before the first request and, on a graceful shutdown (SIGTERM or SIGINT
to uvicorn), stops polling, finishes queued batches and shadow copies and flushes the
prediction log before the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shipyard.server.dataplane import handlers, v2
from shipyard.server.dataplane.inference import Inference
from shipyard.server.dataplane.inputs import RequestRejected
from shipyard.server.dataplane.live import LiveDeployment, LiveDeployments
from shipyard.server.dataplane.metrics import ServingMetrics
from shipyard.server.dataplane.wire import Call, Receive, Scope, Send

if TYPE_CHECKING:
    from shipyard.serving.service import ServingService
    from shipyard.workspace import Workspace

log = logging.getLogger("shipyard.serving.dataplane")
MODEL_THREADS = 4


@dataclass(frozen=True)
class DataPlaneOptions:
    """How a data plane serves: which deployments (None: all, new ones included), limits, timing."""

    names: list[str] | None = None
    max_body_bytes: int = 1 << 20
    poll_interval_s: float = 1.0
    shadow_queue_size: int = 10_000
    trust: bool = False
    log_predictions: bool = True
    #: after the first load, move every object alive to the collector's permanent generation
    #: (``gc.freeze``): full collections then skip the loaded models and libraries, which
    #: otherwise stall a busy server for 100-200 ms. For a process that only serves.
    freeze_gc: bool = False


class DataPlane:
    """Everything the endpoints share: the live deployments, the prediction path, metrics, limits."""

    def __init__(self, workspace: Workspace, options: DataPlaneOptions) -> None:
        self.workspace = workspace
        self.options = options
        self.max_body_bytes = options.max_body_bytes
        self.serving: ServingService = workspace.serving
        self.metrics = ServingMetrics()
        self.executor = ThreadPoolExecutor(MODEL_THREADS, thread_name_prefix="shipyard-model")
        self.loader = ThreadPoolExecutor(1, thread_name_prefix="shipyard-serve-control")
        trust = options.trust
        self.live = LiveDeployments(
            self.serving,
            lambda uri: workspace.models.load(uri, trust=trust),
            names=options.names,
            poll_interval_s=min(options.poll_interval_s, 2.0),
            executor=self.executor,
            loader=self.loader,
            metrics=self.metrics,
        )
        logger = self.serving.prediction_logger() if options.log_predictions else None
        self.inference = Inference(
            self.executor, self.metrics, logger, lambda: workspace.features, options.shadow_queue_size
        )

    def deployment(self, name: str) -> LiveDeployment:
        """The live snapshot of ``name``: 404 when no such deployment is served, 503 when it cannot serve."""
        snapshot = self.live.get(name)
        if snapshot is not None:
            return snapshot
        error = self.live.errors.get(name)
        if error is not None:
            status = 404 if name in self.live.missing else 503
            raise RequestRejected(status, f"deployment {name!r} is not being served: {error}")
        served = ", ".join(sorted(self.live.snapshots)) or "none"
        raise RequestRejected(404, f"no deployment named {name!r} is served here (served: {served})")

    async def start(self) -> None:
        await self.live.start()
        if self.options.freeze_gc:
            import gc

            gc.collect()
            gc.freeze()
        log.info("data plane serving %s", ", ".join(sorted(self.live.snapshots)) or "no deployment yet")

    async def stop(self) -> None:
        """Stop polling, finish what is queued, flush the prediction log."""
        await self.live.stop()
        await self.inference.close()
        logger = self.inference.logger
        if logger is not None:
            await asyncio.get_running_loop().run_in_executor(None, logger.close)
        self.executor.shutdown(wait=True)
        self.loader.shutdown(wait=True)


def create_dataplane(
    workspace: Workspace, options: DataPlaneOptions | None = None, *, close_workspace: bool = False
) -> FastPaths:
    """The data plane app of ``workspace``'s deployments (``close_workspace``: close it at shutdown)."""
    plane = DataPlane(workspace, options or DataPlaneOptions())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await plane.start()
        try:
            yield
        finally:
            await plane.stop()
            if close_workspace:
                workspace.close()

    predict, infer = RawEndpoint(plane, handlers.predict), RawEndpoint(plane, v2.infer)
    routes = [
        Route("/v1/deployments/{name}/predict", predict, methods=["POST"]),
        Route("/v1/deployments/{name}/feedback", handlers.feedback, methods=["POST"]),
        Route("/healthz", handlers.healthz, methods=["GET"]),
        Route("/metrics", handlers.metrics, methods=["GET"]),
        Route("/v2", v2.server_metadata, methods=["GET"]),
        Route("/v2/health/live", v2.live, methods=["GET"]),
        Route("/v2/health/ready", v2.ready, methods=["GET"]),
        Route("/v2/models/{name}", v2.model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/ready", v2.model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}", v2.model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/ready", v2.model_ready, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={Exception: _unexpected})
    app.state.dataplane = plane
    return FastPaths(app, predict, infer)


class RawEndpoint:
    """A prediction endpoint as plain ASGI: ``handler(plane, call)`` answers through the call."""

    def __init__(self, plane: DataPlane, handler: Callable[[DataPlane, Call], Awaitable[None]]) -> None:
        self.plane = plane
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.serve(scope, receive, send, scope.get("path_params") or {})

    async def serve(self, scope: Scope, receive: Receive, send: Send, params: dict[str, str]) -> None:
        call = Call(scope, receive, send, params)
        try:
            await self.handler(self.plane, call)
        except Exception as exc:  # answered if nothing was sent yet; logged either way
            log.error("unexpected error on %s", scope.get("path"), exc_info=exc)
            message = f"internal server error ({type(exc).__name__}); the server log has the details"
            with contextlib.suppress(Exception):
                await call.answer(
                    {"error": {"code": "shipyard_error", "message": message, "details": {}}}, 500
                )


class FastPaths:
    """The app: ``POST`` predict and infer go straight to their endpoints; the rest to Starlette."""

    def __init__(self, app: Starlette, predict: RawEndpoint, infer: RawEndpoint) -> None:
        self.app = app
        self.state = app.state
        self._predict = predict
        self._infer = infer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            parts = scope["path"].split("/")
            count = len(parts)
            if count == 5 and parts[1] == "v1" and parts[2] == "deployments" and parts[4] == "predict":
                return await self._predict.serve(scope, receive, send, {"name": parts[3]})
            if parts[1:3] == ["v2", "models"] and parts[-1] == "infer" and parts[3]:
                if count == 5:
                    return await self._infer.serve(scope, receive, send, {"name": parts[3]})
                if count == 7 and parts[4] == "versions":
                    return await self._infer.serve(
                        scope, receive, send, {"name": parts[3], "version": parts[5]}
                    )
        await self.app(scope, receive, send)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = f"internal server error ({type(exc).__name__}); the server log has the details"
    return JSONResponse({"error": {"code": "shipyard_error", "message": message, "details": {}}}, 500)
