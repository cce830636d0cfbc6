"""The contract every :class:`DatasetStore` backend passes unchanged.

A backend's test class subclasses :class:`DatasetStoreContract` and provides a
``store`` fixture yielding an *empty* store.
"""

from __future__ import annotations

import threading

import pytest

from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.datasets.models import DatasetVersion, FileEntry
from shipyard.datasets.store.base import DatasetStore


def digest(n: int) -> str:
    return "blake3:" + f"{n:064x}"


def draft(name: str, n: int, files: int = 2, **extra: object) -> DatasetVersion:
    entries = tuple(FileEntry(f"part-{i}.csv", digest(n * 100 + i), 10 + i) for i in range(files))
    fields: dict[str, object] = {
        "id": new_id(),
        "name": name,
        "version": 0,
        "digest": digest(n),
        "created_at": 1000 + n,
        "kind": "folder",
        "files": entries,
        "size": sum(e.size for e in entries),
        **extra,
    }
    return DatasetVersion(**fields)  # type: ignore[arg-type]


class DatasetStoreContract:
    def test_first_version_creates_the_dataset(self, store: DatasetStore) -> None:
        made = store.create_version(draft("sales", 1, message="hi", source_path="/data"), new_id())
        assert (made.name, made.version, made.message, made.source_path) == ("sales", 1, "hi", "/data")
        assert store.get_dataset("sales").name == "sales"
        assert [d.name for d in store.list_datasets()] == ["sales"]

    def test_round_trip_keeps_every_field(self, store: DatasetStore) -> None:
        original = draft(
            "sales",
            1,
            created_by="ann",
            row_count=12,
            schema={"part-0.csv": [["id", "BIGINT"], ["x", "DOUBLE"]]},
            profile={"part-0.csv": {"x": {"mean": 1.5, "null_count": 0, "top": [["a", 3]]}}},
        )
        made = store.create_version(original, new_id())
        assert made == store.get_version("sales", 1) == store.find_latest_version("sales")
        assert made.files == original.files and made.schema == original.schema
        assert made.profile == original.profile and made.row_count == 12 and made.created_by == "ann"

    def test_numbers_increase_per_dataset(self, store: DatasetStore) -> None:
        assert [store.create_version(draft("a", n), new_id()).version for n in (1, 2, 3)] == [1, 2, 3]
        assert store.create_version(draft("b", 9), new_id()).version == 1
        assert [v.version for v in store.list_versions("a")] == [1, 2, 3]
        assert [v.version for v in store.list_versions("a", limit=1, offset=1)] == [2]
        latest = store.find_latest_version("a")
        assert latest is not None and latest.digest == digest(3)
        assert [d.name for d in store.list_datasets()] == ["a", "b"]
        assert [d.name for d in store.list_datasets(limit=1, offset=1)] == ["b"]

    def test_same_digest_as_latest_returns_it_and_writes_nothing(self, store: DatasetStore) -> None:
        first = store.create_version(draft("a", 1), new_id())
        again = store.create_version(draft("a", 1), new_id())
        assert again.id == first.id and again.version == 1
        assert len(store.list_versions("a")) == 1
        store.create_version(draft("a", 2), new_id())
        back = store.create_version(draft("a", 1), new_id())  # going back to old content: a new version
        assert back.version == 3

    def test_find_version_by_digest(self, store: DatasetStore) -> None:
        store.create_version(draft("a", 1), new_id())
        store.create_version(draft("a", 2), new_id())
        found = store.find_version_by_digest("a", digest(1))
        assert found is not None and found.version == 1
        assert store.find_version_by_digest("a", digest(7)) is None
        assert store.find_version_by_digest("nope", digest(1)) is None

    def test_missing_things(self, store: DatasetStore) -> None:
        with pytest.raises(NotFoundError, match="'nope'"):
            store.get_dataset("nope")
        with pytest.raises(NotFoundError):
            store.list_versions("nope")
        with pytest.raises(NotFoundError):
            store.get_version("nope", 1)
        assert store.find_latest_version("nope") is None
        store.create_version(draft("a", 1), new_id())
        with pytest.raises(NotFoundError, match="version 2"):
            store.get_version("a", 2)

    def test_duplicate_version_id_is_refused(self, store: DatasetStore) -> None:
        first = draft("a", 1)
        store.create_version(first, new_id())
        clash = DatasetVersion(**{**vars(draft("a", 2)), "id": first.id})
        with pytest.raises(AlreadyExistsError):
            store.create_version(clash, new_id())
        assert len(store.list_versions("a")) == 1

    def test_referenced_digests(self, store: DatasetStore) -> None:
        assert store.referenced_digests() == set()
        store.create_version(draft("a", 1), new_id())
        store.create_version(draft("b", 2, files=1), new_id())
        assert store.referenced_digests() == {digest(100), digest(101), digest(200)}

    def test_concurrent_adds_get_distinct_numbers(self, store: DatasetStore) -> None:
        errors: list[BaseException] = []

        def add(n: int) -> None:
            try:
                store.create_version(draft("race", n), new_id())
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=add, args=(n,)) for n in range(1, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        versions = store.list_versions("race")
        assert sorted(v.version for v in versions) == list(range(1, 9))
        assert len({v.digest for v in versions}) == 8
        assert len(store.list_datasets()) == 1
