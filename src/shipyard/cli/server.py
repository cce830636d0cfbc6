"""``shipyard server``: run the REST API (with its OpenAPI docs at /docs)."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import state
from shipyard.core.errors import InvalidInputError

BACKEND_HELP = "Metadata database URI [default: the workspace's, e.g. <home>/shipyard.db]."
ARTIFACTS_HELP = "Artifact store: a folder or s3://bucket/prefix [default: the workspace's]."


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8080,
    backend_uri: Annotated[
        str | None, typer.Option("--backend-uri", metavar="URI", help=BACKEND_HELP)
    ] = None,
    artifacts_uri: Annotated[str | None, typer.Option(metavar="URI", help=ARTIFACTS_HELP)] = None,
    auth: Annotated[bool, typer.Option("--auth", help="Require a bearer token on every request.")] = False,
) -> None:
    """Serve the REST API under /api/v1 (OpenAPI docs at /docs)."""
    settings = state(ctx).settings
    backend = backend_uri or settings.uri
    if backend.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"--backend-uri {backend} is a server; a server needs a database (sqlite:///... or postgresql://...)"
        )
    from shipyard.server.runner import serve

    serve(
        host=host,
        port=port,
        backend_uri=backend,
        artifacts_uri=artifacts_uri or settings.artifacts_uri,
        require_auth=auth,
    )
