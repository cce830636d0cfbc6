"""The governance contract suites on every local backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import pytest

from shipyard.core.plugins import resolve
from shipyard.governance.store import AUDIT_STORES, AUTH_STORES
from shipyard.governance.store.base import AuditStore, AuthStore
from shipyard.governance.store.memory import MemoryAuditStore, MemoryAuthStore
from shipyard.governance.store.sql import SqlAuditStore, SqlAuthStore
from shipyard.governance.store.sqlite import SqliteAuditStore

from .governance_contract import AuditStoreContract, AuthStoreContract


class TestMemoryAuditStore(AuditStoreContract):
    @pytest.fixture
    def store(self) -> AuditStore:
        return MemoryAuditStore()


class TestMemoryAuthStore(AuthStoreContract):
    @pytest.fixture
    def store(self) -> AuthStore:
        return MemoryAuthStore()


class TestSqliteAuditStore(AuditStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> AuditStore:
        return SqlAuditStore(sqlite_uri)


class TestLiteSqliteAuditStore(AuditStoreContract):
    """The audit store of the lean commands, on plain sqlite3 (the schema made by the SQL store)."""

    @pytest.fixture
    def store(self, sqlite_uri: str) -> AuditStore:
        from shipyard.db.lite import LiteDatabase

        SqlAuditStore(sqlite_uri)  # creates the schema
        return SqliteAuditStore(LiteDatabase(sqlite_uri.removeprefix("sqlite:///")))


class TestSqliteAuthStore(AuthStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> AuthStore:
        return SqlAuthStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresAuditStore(AuditStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> AuditStore:
        return SqlAuditStore(postgres_uri)


@pytest.mark.postgres
class TestPostgresAuthStore(AuthStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> AuthStore:
        return SqlAuthStore(postgres_uri)


def test_backends_resolve_by_scheme(sqlite_uri: str) -> None:
    assert resolve(AUDIT_STORES, "memory://", "audit store") is MemoryAuditStore
    assert resolve(AUTH_STORES, "memory://", "auth store") is MemoryAuthStore
    assert resolve(AUDIT_STORES, sqlite_uri, "audit store") is SqlAuditStore
    assert resolve(AUTH_STORES, "postgresql+psycopg://u@h/db", "auth store") is SqlAuthStore
    assert (
        set(AUDIT_STORES)
        == set(AUTH_STORES)
        == {"memory", "sqlite", "postgresql", "postgresql+psycopg", "http", "https"}
    )
