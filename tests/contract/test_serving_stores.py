"""The serving store contract on memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from shipyard.serving.store.base import ServingStore
from shipyard.serving.store.memory import MemoryServingStore
from shipyard.serving.store.sql import SqlServingStore

from .serving_contract import ServingStoreContract


class TestMemoryServingStore(ServingStoreContract):
    @pytest.fixture
    def store(self) -> ServingStore:
        return MemoryServingStore()


class TestSqliteServingStore(ServingStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> ServingStore:
        return SqlServingStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresServingStore(ServingStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> ServingStore:
        return SqlServingStore(postgres_uri)
