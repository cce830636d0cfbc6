"""The study store (an Optuna journal backend) on memory, SQLite and PostgreSQL: logs in order, read
from any number, and appends from several writers at once neither lost nor reordered within a writer."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from shipyard.tuning.store.base import JournalStore
from shipyard.tuning.store.memory import MemoryJournalStore
from shipyard.tuning.store.sql import SqlJournalStore


class JournalContract:
    def test_logs_come_back_in_order_from_any_number(self, make: Callable[[], JournalStore]) -> None:
        store = make()
        assert list(store.read_logs(0)) == []
        store.append_logs([{"op_code": 0, "n": 0}, {"op_code": 4, "n": 1}])
        store.append_logs([{"op_code": 6, "n": 2, "values": [0.5], "datetime": "2026-01-01T00:00:00"}])
        assert [log["n"] for log in store.read_logs(0)] == [0, 1, 2]
        assert list(store.read_logs(2)) == [
            {"op_code": 6, "n": 2, "values": [0.5], "datetime": "2026-01-01T00:00:00"}
        ]
        assert list(store.read_logs(3)) == []

    def test_concurrent_appends_keep_every_log(self, make: Callable[[], JournalStore]) -> None:
        writers, batches = 4, 15

        def write(w: int) -> None:
            store = make()
            for b in range(batches):
                store.append_logs([{"w": w, "b": b, "i": 0}, {"w": w, "b": b, "i": 1}])

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        logs = list(make().read_logs(0))
        assert len(logs) == writers * batches * 2
        for w in range(writers):
            mine = [(log["b"], log["i"]) for log in logs if log["w"] == w]
            assert mine == [(b, i) for b in range(batches) for i in (0, 1)], (
                "a writer's logs stay in its order"
            )
        positions = {(log["w"], log["b"], log["i"]): n for n, log in enumerate(logs)}
        assert all(
            positions[(w, b, 1)] == positions[(w, b, 0)] + 1 for w in range(writers) for b in range(batches)
        )


class TestMemoryJournal(JournalContract):
    @pytest.fixture
    def make(self) -> Callable[[], JournalStore]:
        store = MemoryJournalStore()
        return lambda: store


class TestSqliteJournal(JournalContract):
    @pytest.fixture
    def make(self, sqlite_uri: str) -> Callable[[], JournalStore]:
        return lambda: SqlJournalStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresJournal(JournalContract):
    @pytest.fixture
    def make(self, postgres_uri: str) -> Callable[[], JournalStore]:
        return lambda: SqlJournalStore(postgres_uri)
