"""The dataset store contract on memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from shipyard.datasets.store.base import DatasetStore
from shipyard.datasets.store.memory import MemoryDatasetStore
from shipyard.datasets.store.sql import SqlDatasetStore

from .dataset_contract import DatasetStoreContract


class TestMemoryDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def store(self) -> DatasetStore:
        return MemoryDatasetStore()


class TestSqliteDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> DatasetStore:
        return SqlDatasetStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> DatasetStore:
        return SqlDatasetStore(postgres_uri)
