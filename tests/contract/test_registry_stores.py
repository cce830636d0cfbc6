"""The registry store contract on memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from shipyard.core.plugins import resolve
from shipyard.registry.store import REGISTRY_STORES
from shipyard.registry.store.base import RegistryStore
from shipyard.registry.store.memory import MemoryRegistryStore
from shipyard.registry.store.sql import SqlRegistryStore

from .registry_contract import RegistryStoreContract


class TestMemoryRegistryStore(RegistryStoreContract):
    @pytest.fixture
    def store(self) -> RegistryStore:
        return MemoryRegistryStore()


class TestSqliteRegistryStore(RegistryStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> RegistryStore:
        return SqlRegistryStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresRegistryStore(RegistryStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> RegistryStore:
        return SqlRegistryStore(postgres_uri)


def test_backends_by_scheme() -> None:
    assert resolve(REGISTRY_STORES, "memory://", "registry store") is MemoryRegistryStore
    for uri in ("sqlite:///x.db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"):
        assert resolve(REGISTRY_STORES, uri, "registry store") is SqlRegistryStore
