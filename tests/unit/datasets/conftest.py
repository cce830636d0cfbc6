"""Fixtures of the dataset tests: a service on SQLite and a local folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.datasets.service import DatasetService
from shipyard.datasets.store.sql import SqlDatasetStore
from shipyard.governance.service import AuditService
from shipyard.governance.store.memory import MemoryAuditStore
from shipyard.storage.cas import ContentStore
from shipyard.storage.local import LocalBlobStore


@pytest.fixture
def content(tmp_path: Path) -> ContentStore:
    return ContentStore(LocalBlobStore(tmp_path / "artifacts"))


@pytest.fixture
def audit() -> AuditService:
    return AuditService(MemoryAuditStore())


@pytest.fixture
def service(
    tmp_path: Path, sqlite_uri: str, content: ContentStore, audit: AuditService
) -> Iterator[DatasetService]:
    store = SqlDatasetStore(sqlite_uri)
    yield DatasetService(store, content, audit=audit, home=tmp_path / "home")
    store.close()
