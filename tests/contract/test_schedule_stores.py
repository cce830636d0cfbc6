"""The schedule store contract on memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from shipyard.pipelines.store.base import ScheduleStore
from shipyard.pipelines.store.memory import MemoryScheduleStore
from shipyard.pipelines.store.sql_schedules import SqlScheduleStore

from .schedule_contract import ScheduleStoreContract


class TestMemoryScheduleStore(ScheduleStoreContract):
    @pytest.fixture
    def store(self) -> ScheduleStore:
        return MemoryScheduleStore()


class TestSqliteScheduleStore(ScheduleStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> ScheduleStore:
        return SqlScheduleStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresScheduleStore(ScheduleStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> ScheduleStore:
        return SqlScheduleStore(postgres_uri)
