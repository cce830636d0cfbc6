"""Every monitoring test gets an empty home and a workspace of its own (the SDK's is process-wide);
``receiver`` is a local webhook endpoint (its URL ends in ``/hook``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import HTTPServer
from pathlib import Path

import pytest

from shipyard.workspace import Workspace, set_workspace

from .monitor_support import Receiver


@pytest.fixture(autouse=True)
def workspace(home: Path) -> Iterator[Workspace]:
    ws = Workspace()
    set_workspace(ws)
    yield ws
    set_workspace(None)
    ws.close()


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.bodies, Receiver.paths, Receiver.status = [], [], 200
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()
