"""The application factory: routers, error handlers and auth around one workspace."""

from __future__ import annotations

from fastapi import FastAPI

from shipyard._version import __version__
from shipyard.server.encoding import OrjsonResponse
from shipyard.server.errors import install_error_handlers
from shipyard.server.fastpath import FastPathApp
from shipyard.workspace import Workspace


def create_app(workspace: Workspace, *, require_auth: bool) -> FastAPI:
    """The REST API of ``workspace`` under ``/api/v1``; OpenAPI at ``/docs``."""
    from shipyard.server.routers import (
        audit,
        blobs,
        datasets,
        deployments,
        evaluations,
        experiments,
        features,
        health,
        metrics,
        models,
        monitors,
        runs,
        tokens,
        validation,
        webhooks,
    )

    app = FastPathApp(
        title="Shipyard",
        version=__version__,
        docs_url="/docs",
        redoc_url=None,
        default_response_class=OrjsonResponse,
        description=(
            "Experiments, runs, artifacts, datasets, validation results, the model registry, "
            "tokens and the audit log."
        ),
    )
    app.state.workspace = workspace
    app.state.require_auth = require_auth
    install_error_handlers(app)
    # The hot online-feature read skips FastAPI's layers, and else is matched first.
    app.fast_routes[("POST", features.ONLINE_PATH)] = features.online_read
    app.router.routes.append(features.online_route)
    app.include_router(features.online_router)  # its documentation (the route above serves it)
    for module in (health, experiments, runs, blobs, datasets, validation, tokens, audit):
        app.include_router(module.router)
    for module in (models, evaluations, webhooks):  # the model registry
        app.include_router(module.router)
    app.include_router(runs.search_router)
    app.include_router(features.router)  # the feature store
    app.include_router(deployments.router)  # serving's control plane
    app.include_router(monitors.router)  # monitors and their alerts
    app.include_router(metrics.router)  # Prometheus gauges of the monitors
    return app
