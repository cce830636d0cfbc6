"""The feature registry contract on memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from shipyard.core.plugins import resolve
from shipyard.features.store import FEATURE_STORES
from shipyard.features.store.base import FeatureRegistryStore
from shipyard.features.store.memory import MemoryFeatureRegistryStore
from shipyard.features.store.rest import RestFeatureRegistryStore
from shipyard.features.store.sql import SqlFeatureRegistryStore

from .feature_contract import FeatureRegistryStoreContract


class TestMemoryFeatureRegistryStore(FeatureRegistryStoreContract):
    @pytest.fixture
    def store(self) -> FeatureRegistryStore:
        return MemoryFeatureRegistryStore()


class TestSqliteFeatureRegistryStore(FeatureRegistryStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> FeatureRegistryStore:
        return SqlFeatureRegistryStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresFeatureRegistryStore(FeatureRegistryStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> FeatureRegistryStore:
        return SqlFeatureRegistryStore(postgres_uri)


def test_backends_resolve_by_scheme(sqlite_uri: str) -> None:
    assert resolve(FEATURE_STORES, "memory://", "feature store") is MemoryFeatureRegistryStore
    assert resolve(FEATURE_STORES, sqlite_uri, "feature store") is SqlFeatureRegistryStore
    assert resolve(FEATURE_STORES, "postgresql+psycopg://u@h/db", "feature store") is SqlFeatureRegistryStore
    assert resolve(FEATURE_STORES, "https://example.org", "feature store") is RestFeatureRegistryStore
