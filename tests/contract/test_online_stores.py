"""The online store contract on memory, SQLite and a real Redis server."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.core.errors import BackendUnavailable, InvalidInputError
from shipyard.features.onlinestore import ONLINE_STORES, open_online_store
from shipyard.features.onlinestore.base import OnlineStore
from shipyard.features.onlinestore.memory import MemoryOnlineStore
from shipyard.features.onlinestore.sqlite import SqliteOnlineStore
from tests.conftest import REDIS_URL, service_missing

from .online_contract import OnlineStoreContract, records


class TestMemoryOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[OnlineStore]:
        store = MemoryOnlineStore()
        yield store
        store.close()


class TestSqliteOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[OnlineStore]:
        store = SqliteOnlineStore(f"sqlite:///{tmp_path / 'online.db'}")
        yield store
        store.close()

    def test_records_survive_reopening(self, tmp_path: Path) -> None:
        uri = f"sqlite:///{tmp_path / 'sub' / 'online.db'}"
        with SqliteOnlineStore(uri) as first:
            first.write_batch("v", [("a", b"1")])
        with SqliteOnlineStore(uri) as second:
            assert second.read("v", ["a"]) == [b"1"]

    def test_file_is_wal_with_one_table_without_rowid(self, tmp_path: Path) -> None:
        path = tmp_path / "online.db"
        SqliteOnlineStore(f"sqlite:///{path}").close()
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table'").fetchone()
        finally:
            conn.close()
        assert "WITHOUT ROWID" in sql and "PRIMARY KEY (view, key)" in sql

    def test_two_store_objects_on_one_file_write_concurrently(self, tmp_path: Path) -> None:
        uri = f"sqlite:///{tmp_path / 'online.db'}"
        stores = [SqliteOnlineStore(uri), SqliteOnlineStore(uri)]  # as two processes would
        errors: list[BaseException] = []

        def write(index: int) -> None:
            try:
                for b in range(20):
                    stores[index].write_batch("v", records(500, start=(index * 20 + b) * 500))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert stores[0].count("v") == stores[1].count("v") == 20_000
        for store in stores:
            store.close()

    def test_each_thread_reads_through_its_own_connection(self, store: OnlineStore) -> None:
        store.write_batch("v", [("a", b"1")])
        seen: list[list[bytes | None]] = []
        threads = [threading.Thread(target=lambda: seen.append(store.read("v", ["a"]))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen == [[b"1"]] * 3
        assert isinstance(store, SqliteOnlineStore) and len(store._connections) == 4

    def test_closed_store_refuses_new_threads(self, store: OnlineStore) -> None:
        store.close()
        with pytest.raises(InvalidInputError, match="closed"):
            store.read("v", ["a"])

    def test_an_unopenable_file_is_backend_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "online.db").mkdir()  # a folder where the file should be
        with pytest.raises(BackendUnavailable):
            SqliteOnlineStore(f"sqlite:///{tmp_path / 'online.db'}")


def _redis_client() -> object:
    try:
        import redis
    except ImportError:
        service_missing("Redis", "the redis client is not installed: pip install 'shipyard[redis]'")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        service_missing("Redis", f"{REDIS_URL}: {exc}")
    return client


@pytest.mark.redis
class TestRedisOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[OnlineStore]:
        client = _redis_client()
        prefix = f"sy-test-{uuid.uuid4().hex[:12]}:"
        store = open_online_store(f"{REDIS_URL}?prefix={prefix}", None)
        try:
            yield store
        finally:
            store.close()
            for name in client.scan_iter(match=f"{prefix}*"):  # type: ignore[attr-defined]
                client.delete(name)  # type: ignore[attr-defined]
            client.close()  # type: ignore[attr-defined]

    def test_one_hash_per_view_under_the_prefix(self, store: OnlineStore) -> None:
        client = _redis_client()
        store.write_batch("user_stats", [("i1", b"x"), ("i2", b"y")])
        prefix = store.prefix  # type: ignore[attr-defined]
        assert client.hgetall(f"{prefix}user_stats") == {b"i1": b"x", b"i2": b"y"}  # type: ignore[attr-defined]
        client.close()  # type: ignore[attr-defined]

    def test_unreachable_server_is_backend_unavailable(self) -> None:
        pytest.importorskip("redis")
        with open_online_store("redis://127.0.0.1:1/0", None) as store, pytest.raises(BackendUnavailable):
            store.read("v", ["a"])


def test_default_is_sqlite_in_the_home(tmp_path: Path) -> None:
    with open_online_store("", tmp_path / "home") as store:
        assert isinstance(store, SqliteOnlineStore)
        assert store.path == tmp_path / "home" / "online.db"
    assert (tmp_path / "home" / "online.db").is_file()


def test_memory_uri_gives_an_empty_store() -> None:
    with open_online_store("memory://", None) as store:
        assert isinstance(store, MemoryOnlineStore) and store.count("v") == 0


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="known schemes: memory, redis"):
        open_online_store("cassandra://x", None)
    assert {"memory", "sqlite", "redis"} <= set(ONLINE_STORES)


def test_sqlite_memory_path_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="memory://"):
        open_online_store("sqlite:///:memory:", None)


def test_a_forked_child_uses_its_own_connection(tmp_path: Path) -> None:
    import multiprocessing

    store = SqliteOnlineStore(f"sqlite:///{tmp_path / 'online.db'}")
    store.write_batch("v", [("parent", b"1")])
    child = multiprocessing.get_context("fork").Process(target=_write_in_child, args=(store,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert store.read("v", ["parent", "child"]) == [b"1", b"2"]
    store.close()


def _write_in_child(store: SqliteOnlineStore) -> None:
    assert store._connections == []
    store.write_batch("v", [("child", b"2")])
    assert store.read("v", ["parent"]) == [b"1"]
