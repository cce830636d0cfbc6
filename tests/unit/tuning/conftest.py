"""Fixtures of the tuning tests: the embedded workspace (SQLite, a local folder), also the SDK's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.core.config import load_settings
from shipyard.tuning.service import TuningService
from shipyard.workspace import Workspace, set_workspace


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    ws = Workspace(load_settings())
    set_workspace(ws)
    yield ws
    set_workspace(None)


@pytest.fixture
def tuning(workspace: Workspace) -> TuningService:
    return workspace.tuning
