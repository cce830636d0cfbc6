"""The monitor store contract on memory, SQLite and a real PostgreSQL server (required under CI=true)."""

from __future__ import annotations

import pytest

from shipyard.monitoring.store.base import MonitorStore
from shipyard.monitoring.store.memory import MemoryMonitorStore
from shipyard.monitoring.store.sql import SqlMonitorStore

from .monitor_contract import MonitorStoreContract


class TestMemoryMonitorStore(MonitorStoreContract):
    @pytest.fixture
    def store(self) -> MonitorStore:
        return MemoryMonitorStore()


class TestSqliteMonitorStore(MonitorStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> MonitorStore:
        return SqlMonitorStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresMonitorStore(MonitorStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> MonitorStore:
        return SqlMonitorStore(postgres_uri)
