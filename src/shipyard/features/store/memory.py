"""A thread-safe, in-process feature registry: the reference for every other backend.

>>> from shipyard.features.models import Definition
>>> store = MemoryFeatureRegistryStore()
>>> draft = Definition("a" * 32, "entity", "user", 0, "blake3:" + "0" * 64, {}, 1)
>>> store.create_definition(draft).ref
'user@1'
"""

from __future__ import annotations

import dataclasses
import threading

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.features.models import Definition, Watermark, label
from shipyard.features.store.base import FeatureRegistryStore


class MemoryFeatureRegistryStore(FeatureRegistryStore):
    """Definitions and watermarks in dictionaries behind one lock."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, str], list[Definition]] = {}
        self._ids: set[str] = set()
        self._watermarks: dict[str, Watermark] = {}

    def create_definition(self, draft: Definition, expected_version: int | None = None) -> Definition:
        with self._lock:
            versions = self._versions.get((draft.kind, draft.name), [])
            if versions and versions[-1].digest == draft.digest:
                return versions[-1]
            if expected_version is not None and expected_version != len(versions):
                raise ConflictError(
                    f"{label(draft.kind)} {draft.name!r} is at version {len(versions)}, "
                    f"not {expected_version}: "
                    "it was changed meanwhile; apply again"
                )
            if draft.id in self._ids:
                raise AlreadyExistsError(f"definition id {draft.id!r} already exists")
            stored = dataclasses.replace(draft, version=len(versions) + 1)
            self._versions[(draft.kind, draft.name)] = [*versions, stored]
            self._ids.add(draft.id)
            return stored

    def get_definition(self, kind: str, name: str, version: int) -> Definition:
        versions = self.list_versions(kind, name)
        if not 1 <= version <= len(versions):
            raise NotFoundError(f"{label(kind)} {name!r} has no version {version} (latest: {len(versions)})")
        return versions[version - 1]

    def find_latest(self, kind: str, name: str) -> Definition | None:
        with self._lock:
            versions = self._versions.get((kind, name))
        return versions[-1] if versions else None

    def list_definitions(
        self, kind: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[Definition]:
        with self._lock:
            latest = [v[-1] for (k, _), v in self._versions.items() if kind is None or k == kind]
        return sorted(latest, key=lambda d: (d.kind, d.name))[offset : offset + limit]

    def list_versions(self, kind: str, name: str) -> list[Definition]:
        with self._lock:
            versions = self._versions.get((kind, name))
        if not versions:
            raise NotFoundError(f"{label(kind)} {name!r} not found")
        return list(versions)

    def set_watermark(self, watermark: Watermark) -> None:
        with self._lock:
            self._watermarks[watermark.view] = watermark

    def find_watermark(self, view: str) -> Watermark | None:
        with self._lock:
            return self._watermarks.get(view)

    def list_watermarks(self) -> list[Watermark]:
        with self._lock:
            return [self._watermarks[v] for v in sorted(self._watermarks)]
