"""Fixtures of the pipeline tests: the embedded workspace (SQLite and a local folder) as the SDK's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.core.config import load_settings
from shipyard.pipelines.service import PipelineService
from shipyard.workspace import Workspace, set_workspace


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    ws = Workspace(load_settings())
    set_workspace(ws)
    yield ws
    set_workspace(None)


@pytest.fixture
def service(workspace: Workspace) -> PipelineService:
    return workspace.pipelines
