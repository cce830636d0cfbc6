"""Every monitoring test gets an empty home and a workspace of its own (the SDK's is process-wide)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.workspace import Workspace, set_workspace


@pytest.fixture(autouse=True)
def workspace(home: Path) -> Iterator[Workspace]:
    ws = Workspace()
    set_workspace(ws)
    yield ws
    set_workspace(None)
    ws.close()
