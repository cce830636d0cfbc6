"""The tracking contract on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from shipyard.tracking.store.base import TrackingStore
from shipyard.tracking.store.sql import SqlTrackingStore

from .tracking_contract import TrackingStoreContract


class TestSqliteTrackingStore(TrackingStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> TrackingStore:
        return SqlTrackingStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresTrackingStore(TrackingStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> TrackingStore:
        return SqlTrackingStore(postgres_uri)
