"""The contract every :class:`OnlineStore` backend passes unchanged.

A backend's test class subclasses :class:`OnlineStoreContract` and provides a ``store``
fixture yielding an *empty* store.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.features.onlinestore.base import OnlineStore
from shipyard.features.onlinestore.codec import entity_key, pack, unpack


def records(n: int, tag: str = "v", start: int = 0) -> list[tuple[str, bytes]]:
    return [(entity_key([i]), f"{tag}{i}".encode()) for i in range(start, start + n)]


class OnlineStoreContract:
    def test_write_then_read_in_the_order_asked(self, store: OnlineStore) -> None:
        store.write_batch("stats", [("a", b"1"), ("b", b"2"), ("c", b"3")])
        assert store.read("stats", ["c", "a", "b"]) == [b"3", b"1", b"2"]
        assert store.read("stats", ["b"]) == [b"2"]

    def test_missing_keys_and_unknown_views_read_as_none(self, store: OnlineStore) -> None:
        store.write_batch("stats", [("a", b"1")])
        assert store.read("stats", ["x", "a", "y"]) == [None, b"1", None]
        assert store.read("stats", ["x"]) == [None]
        assert store.read("nowhere", ["a", "b"]) == [None, None]
        assert store.read("stats", []) == []
        assert store.count("nowhere") == 0

    def test_duplicate_keys_in_a_read_each_get_the_value(self, store: OnlineStore) -> None:
        store.write_batch("stats", [("a", b"1")])
        assert store.read("stats", ["a", "a", "b", "a"]) == [b"1", b"1", None, b"1"]

    def test_overwrite_replaces_the_value_and_keeps_the_count(self, store: OnlineStore) -> None:
        store.write_batch("stats", [("a", b"old"), ("b", b"keep")])
        store.write_batch("stats", [("a", b"new")])
        assert store.read("stats", ["a", "b"]) == [b"new", b"keep"]
        assert store.count("stats") == 2

    def test_the_last_pair_for_a_key_in_one_batch_wins(self, store: OnlineStore) -> None:
        store.write_batch("stats", [("a", b"1"), ("b", b"2"), ("a", b"3")])
        assert store.read("stats", ["a", "b"]) == [b"3", b"2"]
        assert store.count("stats") == 2

    def test_empty_batch_writes_nothing(self, store: OnlineStore) -> None:
        store.write_batch("stats", [])
        assert store.count("stats") == 0

    def test_values_are_any_bytes_and_keys_any_text(self, store: OnlineStore) -> None:
        pairs = [
            (entity_key(['ü|"x"', 1]), bytes(range(256))),
            (entity_key(["日本"]), b"\x00"),
            (entity_key([None]), b""),
            ("key with spaces:and/colons", b"\xff\xfe"),
        ]
        store.write_batch("odd view:name/with spaces", pairs)
        assert store.read("odd view:name/with spaces", [k for k, _ in pairs]) == [v for _, v in pairs]

    def test_packed_rows_round_trip(self, store: OnlineStore) -> None:
        when = datetime(2024, 2, 29, 12, 30, tzinfo=UTC)
        row = {"f1": 1.5, "f2": -(2**63), "f3": "ok", "f4": True, "f5": None, "f6": when}
        store.write_batch("stats", [(entity_key([7]), pack(row, 1_700_000_000_123))])
        (data,) = store.read("stats", [entity_key([7.0])])
        assert data is not None
        assert unpack(data) == (row, 1_700_000_000_123)

    def test_batches_of_ten_thousand(self, store: OnlineStore) -> None:
        batch = records(10_000)
        store.write_batch("big", batch)
        assert store.count("big") == 10_000
        keys = [k for k, _ in batch]
        assert store.read("big", keys) == [v for _, v in batch]
        assert store.read("big", [*keys[::-7], "missing"]) == [v for _, v in batch[::-7]] + [None]
        store.write_batch("big", records(10_000, tag="w", start=5_000))
        assert store.count("big") == 15_000
        assert store.read("big", [entity_key([4_999]), entity_key([5_000])]) == [b"v4999", b"w5000"]

    def test_reads_beyond_one_query_chunk(self, store: OnlineStore) -> None:
        batch = records(25_000)
        store.write_batch("big", batch)
        keys = [k for k, _ in batch]
        assert store.read("big", keys) == [v for _, v in batch]

    def test_count_counts_keys_per_view(self, store: OnlineStore) -> None:
        store.write_batch("a", records(3))
        store.write_batch("b", records(5))
        assert (store.count("a"), store.count("b")) == (3, 5)

    def test_views_are_isolated(self, store: OnlineStore) -> None:
        store.write_batch("a", [("k", b"from a")])
        store.write_batch("b", [("k", b"from b")])
        assert store.read("a", ["k"]) == [b"from a"]
        assert store.read("b", ["k"]) == [b"from b"]
        assert store.delete_view("a") == 1
        assert store.read("a", ["k"]) == [None]
        assert store.read("b", ["k"]) == [b"from b"]

    def test_delete_view_returns_how_many_it_removed(self, store: OnlineStore) -> None:
        store.write_batch("a", records(42))
        assert store.delete_view("a") == 42
        assert store.count("a") == 0
        assert store.read("a", [entity_key([1])]) == [None]
        assert store.delete_view("a") == 0
        assert store.delete_view("never-written") == 0
        store.write_batch("a", records(2))  # a deleted view can be written again
        assert store.count("a") == 2

    def test_a_batch_with_an_invalid_value_writes_nothing(self, store: OnlineStore) -> None:
        store.write_batch("stats", [("a", b"before")])
        bad = [("a", b"after"), ("b", b"x"), ("c", None)]
        with pytest.raises(InvalidInputError):
            store.write_batch("stats", bad)  # type: ignore[list-item]
        assert store.read("stats", ["a", "b", "c"]) == [b"before", None, None]
        assert store.count("stats") == 1

    def test_concurrent_writers_and_readers(self, store: OnlineStore) -> None:
        writers, batches, per_batch = 4, 20, 250
        errors: list[BaseException] = []
        barrier = threading.Barrier(writers + 1)

        def write(w: int) -> None:
            try:
                barrier.wait()
                for b in range(batches):
                    own = records(per_batch, tag=f"w{w}-", start=(w * batches + b) * per_batch)
                    shared = [("shared", f"w{w}-b{b}".encode())]
                    store.write_batch("hot", own + shared)
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        def read() -> None:
            try:
                barrier.wait()
                for _ in range(batches * 2):
                    (value,) = store.read("hot", ["shared"])
                    assert value is None or value.startswith(b"w")
                    assert store.count("hot") <= writers * batches * per_batch + 1
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        threads.append(threading.Thread(target=read))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert store.count("hot") == writers * batches * per_batch + 1
        probe = [entity_key([i]) for i in range(0, writers * batches * per_batch, 997)]
        assert all(value is not None for value in store.read("hot", probe))
        (last,) = store.read("hot", ["shared"])
        assert last is not None and last.endswith(f"-b{batches - 1}".encode())

    def test_close_twice_is_harmless(self, store: OnlineStore) -> None:
        store.close()
        store.close()
