"""The dataset store contract on memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.datasets.store.base import DatasetStore
from shipyard.datasets.store.memory import MemoryDatasetStore
from shipyard.datasets.store.sql import SqlDatasetStore
from shipyard.datasets.store.sqlite import SqliteDatasetStore, open_sqlite_store

from .dataset_contract import DatasetStoreContract


class TestMemoryDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def store(self) -> DatasetStore:
        return MemoryDatasetStore()


class TestSqliteDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> DatasetStore:
        return SqlDatasetStore(sqlite_uri)


class TestLiteSqliteDatasetStore(DatasetStoreContract):
    """The store of the lean ``data add``, on plain sqlite3 (the schema made by the SQL store)."""

    @pytest.fixture
    def store(self, sqlite_uri: str) -> DatasetStore:
        SqlDatasetStore(sqlite_uri).close()  # creates the schema
        found = open_sqlite_store(sqlite_uri)
        assert isinstance(found, SqliteDatasetStore)
        return found


def test_the_lean_store_and_the_sql_store_read_each_others_versions(sqlite_uri: str) -> None:
    from .dataset_contract import draft

    sql = SqlDatasetStore(sqlite_uri)
    lite = open_sqlite_store(sqlite_uri)
    assert lite is not None
    made = [
        lite.create_version(
            draft("a", 1, message="m", source_path="/x", schema={"f": [["c", "BIGINT"]]}), "d1"
        ),
        sql.create_version(draft("a", 2, row_count=3, profile={"f": {"c": {"mean": 1.0}}}), "d1"),
        lite.create_version(draft("b", 3, created_by="ann"), "d2"),
    ]
    for store in (sql, lite):
        assert [store.get_version(v.name, v.version) for v in made] == made
        assert store.list_datasets() == sql.list_datasets()
        assert store.referenced_digests() == sql.referenced_digests()
    sql.close()
    lite.close()


def test_the_lean_store_opens_only_a_database_at_the_newest_schema(tmp_path: Path) -> None:
    import sqlite3

    assert open_sqlite_store(f"sqlite:///{tmp_path / 'none.db'}") is None  # no file
    assert open_sqlite_store("postgresql+psycopg://u@h/db") is None
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert open_sqlite_store(f"sqlite:///{empty}") is None  # no schema
    uri = f"sqlite:///{tmp_path / 'old.db'}"
    SqlDatasetStore(uri).close()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    assert open_sqlite_store(uri) is None  # an older schema: the SQL store upgrades it


def test_the_lean_schema_revision_is_alembics_head() -> None:
    from shipyard.db.lite import known_head
    from shipyard.db.migrate import head_revision

    assert known_head() == head_revision()


@pytest.mark.postgres
class TestPostgresDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> DatasetStore:
        return SqlDatasetStore(postgres_uri)
