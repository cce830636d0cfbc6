"""A thread-safe, in-process dataset store: the reference for every other backend.

>>> from shipyard.datasets.models import DatasetVersion
>>> store = MemoryDatasetStore()
>>> draft = DatasetVersion("v1", "sales", 0, "blake3:" + "0" * 64, 1, "file", (), 0)
>>> store.create_version(draft, dataset_id="d1").ref
'sales@1'
"""

from __future__ import annotations

import dataclasses
import threading

from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.datasets.models import Dataset, DatasetVersion
from shipyard.datasets.store.base import DatasetStore


class MemoryDatasetStore(DatasetStore):
    """Datasets and versions in dictionaries behind one lock (versions are immutable)."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._datasets: dict[str, Dataset] = {}
        self._versions: dict[str, list[DatasetVersion]] = {}
        self._ids: set[str] = set()

    def create_version(self, draft: DatasetVersion, dataset_id: str) -> DatasetVersion:
        with self._lock:
            versions = self._versions.get(draft.name, [])
            if versions and versions[-1].digest == draft.digest:
                return versions[-1]
            if draft.id in self._ids:
                raise AlreadyExistsError(f"dataset version id {draft.id!r} already exists")
            if draft.name not in self._datasets:
                if any(d.id == dataset_id for d in self._datasets.values()):
                    raise AlreadyExistsError(f"dataset id {dataset_id!r} already exists")
                self._datasets[draft.name] = Dataset(dataset_id, draft.name, draft.created_at)
            version = dataclasses.replace(draft, version=len(versions) + 1)
            self._versions[draft.name] = [*versions, version]
            self._ids.add(draft.id)
            return version

    def get_dataset(self, name: str) -> Dataset:
        with self._lock:
            found = self._datasets.get(name)
        if found is None:
            raise NotFoundError(f"dataset {name!r} not found")
        return found

    def list_datasets(self, limit: int = 1000, offset: int = 0) -> list[Dataset]:
        with self._lock:
            return sorted(self._datasets.values(), key=lambda d: d.name)[offset : offset + limit]

    def get_version(self, name: str, version: int) -> DatasetVersion:
        versions = self._list(name)
        if not 1 <= version <= len(versions):
            raise NotFoundError(f"dataset {name!r} has no version {version} (latest: {len(versions)})")
        return versions[version - 1]

    def find_latest_version(self, name: str) -> DatasetVersion | None:
        with self._lock:
            versions = self._versions.get(name)
        return versions[-1] if versions else None

    def find_version_by_digest(self, name: str, digest: str) -> DatasetVersion | None:
        with self._lock:
            versions = self._versions.get(name, [])
        return next((v for v in reversed(versions) if v.digest == digest), None)

    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[DatasetVersion]:
        return self._list(name)[offset : offset + limit]

    def referenced_digests(self) -> set[str]:
        with self._lock:
            return {f.digest for versions in self._versions.values() for v in versions for f in v.files}

    def _list(self, name: str) -> list[DatasetVersion]:
        with self._lock:
            versions = self._versions.get(name)
        if versions is None:
            raise NotFoundError(f"dataset {name!r} not found")
        return list(versions)
