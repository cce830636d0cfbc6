"""A real ``python -m shipyard.server`` process on a free loopback port, for REST tests.

Use it as ``with running_server(backend_uri, artifacts_dir, home_dir) as url: ...``, or
``with server_with_users(folder, {"ed": "editor"}) as (url, secrets): ...`` for a server
with ``--auth`` on a SQLite database in ``folder`` and a token per user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port

STARTUP_TIMEOUT_S = 60.0


class ServerFailed(RuntimeError):
    """The server process did not come up (its stderr is in the message)."""


@contextmanager
def running_server(
    backend_uri: str,
    artifacts: Path,
    home: Path,
    *,
    host: str = "127.0.0.1",
    auth: bool = False,
    connect_host: str = "127.0.0.1",
) -> Iterator[str]:
    """Start the server, wait for ``/api/v1/health``, yield its base URL, stop it."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "shipyard.server",
        "--host",
        host,
        "--port",
        str(port),
        "--backend-uri",
        backend_uri,
        "--artifacts-uri",
        str(artifacts),
    ]
    if auth:
        args.append("--auth")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(home)
    log_path = home / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://{connect_host}:{port}"
    try:
        _wait_healthy(proc, url, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _print_if_failed(proc, log_path)


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerFailed(
                f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}"
            )
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ServerFailed(
        f"server not healthy after {STARTUP_TIMEOUT_S}s:\n{log_path.read_text(errors='replace')}"
    )


def _print_if_failed(proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Show the server's output when it logged an error or died on its own."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    if "Traceback" in text or proc.returncode not in (0, -15, 143):
        print(f"--- shipyard server output ({log_path}) ---\n{text}", file=sys.stderr)


@contextmanager
def server_with_users(folder: Path, users: Mapping[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """A server with ``--auth`` on ``folder/meta.db`` and ``folder/artifacts``; yields its URL and
    the token secret of each of ``users`` (``{name: role}``), created before it starts."""
    from shipyard.core.config import load_settings
    from shipyard.workspace import Workspace

    settings = load_settings(
        home=str(folder / "server-home"),
        uri=f"sqlite:///{folder / 'meta.db'}",
        artifacts_uri=str(folder / "artifacts"),
    )
    local = Workspace(settings)
    try:
        secrets = {name: local.auth.create_token(name, role)[1] for name, role in users.items()}
    finally:
        local.close()
    with running_server(settings.uri, folder / "artifacts", folder / "server-home", auth=True) as url:
        yield url, secrets
