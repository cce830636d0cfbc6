"""Validation results in memory: the reference for every other backend.

>>> from shipyard.validation.models import ValidationResult
>>> store = MemoryValidationStore()
>>> store.save_result(ValidationResult("s", "sha256:x", "d@1", True, [], 5, "v1", id="r1"))
'r1'
>>> store.latest_result("v1", "sha256:x").id
'r1'
"""

from __future__ import annotations

import dataclasses
import threading

from shipyard.core.errors import AlreadyExistsError
from shipyard.core.ids import new_id
from shipyard.validation.models import ValidationResult
from shipyard.validation.store.base import ValidationStore


class MemoryValidationStore(ValidationStore):
    """:class:`ValidationStore` in a list behind a lock; ``uri`` is accepted and ignored."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._results: list[ValidationResult] = []

    def save_result(self, result: ValidationResult) -> str:
        result_id = result.id or new_id()
        stored = ValidationResult.from_dict({**result.to_dict(), "id": result_id})
        with self._lock:
            if any(r.id == result_id for r in self._results):
                raise AlreadyExistsError(f"validation result {result_id!r} already exists")
            self._results.append(stored)
        return result_id

    def list_results(
        self, dataset_version_id: str | None = None, suite_digest: str | None = None, limit: int = 100
    ) -> list[ValidationResult]:
        with self._lock:
            found = [
                r
                for r in self._results
                if (dataset_version_id is None or r.dataset_version_id == dataset_version_id)
                and (suite_digest is None or r.suite_digest == suite_digest)
            ]
        found.sort(key=lambda r: (r.created_at, r.id or ""), reverse=True)
        return [dataclasses.replace(r, checks=list(r.checks)) for r in found[:limit]]

    def latest_result(self, dataset_version_id: str, suite_digest: str) -> ValidationResult | None:
        found = self.list_results(dataset_version_id, suite_digest, limit=1)
        return found[0] if found else None
