"""``shipyard serve [NAME...]``: run the serving data plane for deployments."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import state

NAMES_HELP = "Deployments to serve [default: every deployment, new ones included]."


def serve_command(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(metavar="[NAME]...", help=NAMES_HELP)] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    trust: Annotated[
        bool,
        typer.Option(
            "--trust", help="Load pickled (pyfunc) model packages: only if you trust who made them."
        ),
    ] = False,
    no_log: Annotated[
        bool, typer.Option("--no-prediction-log", help="Do not record predictions (monitoring needs them).")
    ] = False,
) -> None:
    """Serve predictions of deployments over HTTP: /v1/deployments/NAME/predict, the V2 inference
    protocol under /v2, feedback, /metrics and /healthz. Spec and alias changes apply live."""
    from shipyard.server.dataplane.app import DataPlaneOptions
    from shipyard.server.dataplane.runner import serve

    settings = state(ctx).settings
    options = DataPlaneOptions(
        names=list(dict.fromkeys(names)) if names else None,
        max_body_bytes=settings.serve_max_body_bytes,
        poll_interval_s=settings.serve_poll_interval_s,
        shadow_queue_size=settings.serve_shadow_queue_size,
        trust=trust,
        log_predictions=not no_log,
    )
    serve(settings, options, host, port, workers)
