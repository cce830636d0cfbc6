"""Run the server: build the workspace, check the schema, decide on auth, start uvicorn."""

from __future__ import annotations

import ipaddress
import sys

from shipyard.core.config import load_settings
from shipyard.core.errors import BackendUnavailable
from shipyard.core.plugins import scheme_of
from shipyard.workspace import Workspace


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def prepare_schema(backend_uri: str) -> None:
    """Upgrade a SQLite schema; refuse to start on an outdated PostgreSQL one."""
    from shipyard.db.engine import get_engine
    from shipyard.db.migrate import current_revision, head_revision, upgrade

    engine = get_engine(backend_uri)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise BackendUnavailable(
            f"the database {engine.url.render_as_string(hide_password=True)} is at schema revision "
            f"{current or 'none'}, this server needs {head}: run `shipyard db upgrade --uri URI` first"
        )


def serve(
    host: str, port: int, backend_uri: str | None, artifacts_uri: str | None, require_auth: bool | None = None
) -> None:
    """Serve the REST API until interrupted; auth is forced on beyond loopback."""
    import uvicorn

    from shipyard.server.app import create_app

    settings = load_settings(uri=backend_uri, artifacts_uri=artifacts_uri)
    if settings.is_remote:
        raise BackendUnavailable(f"the backend {settings.uri} is itself a server; give a database URI")
    try:
        prepare_schema(settings.uri)
    except BackendUnavailable as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        raise SystemExit(2) from exc
    auth = bool(require_auth) or not is_loopback(host)
    workspace = Workspace(settings)
    app = create_app(workspace, require_auth=auth)
    shown = f"[{host}]" if ":" in host else host
    sys.stdout.write(
        f"Shipyard server on http://{shown}:{port} (auth: {'on' if auth else 'off'}; "
        f"backend: {scheme_of(settings.uri)})\n"
    )
    sys.stdout.flush()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        workspace.close()
