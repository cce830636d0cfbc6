"""Use cases of data validation: run a suite on data, keep results, answer "was it validated?".

Data is a :class:`~shipyard.datasets.models.DatasetVersion`, a dataset reference
(``"name@3"``, ``"name"`` for the latest), a local path (file or folder of tabular
files) or a pandas DataFrame / Arrow table. Results on dataset versions are stored
against the version id and the suite digest, so a gate can later ask whether the
data of a model passed a given suite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import InvalidInputError, NotFoundError, ValidationFailed
from shipyard.datasets.models import DatasetVersion
from shipyard.validation.models import Suite, ValidationResult
from shipyard.validation.store.base import ValidationStore
from shipyard.validation.suite import as_suite

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.governance.service import AuditService

SuiteLike = Suite | Mapping[str, Any] | str | Path
MAX_LISTED = 1000


class ValidationService:
    """Runs suites and keeps their results.

    Each collaborator may be given as an instance or as a zero-argument callable that
    builds it on first use, so validating a local file opens no metadata database.
    """

    def __init__(
        self,
        store: ValidationStore | Callable[[], ValidationStore],
        datasets: DatasetService | Callable[[], DatasetService] | None = None,
        audit: AuditService | Callable[[], AuditService] | None = None,
    ) -> None:
        self._sources: dict[str, Any] = {"store": store, "datasets": datasets, "audit": audit}

    def _provided(self, name: str) -> Any:
        source = self._sources[name]
        if callable(source):  # stores and services are not callable; a provider is
            source = self._sources[name] = source()
        return source

    def close(self) -> None:
        """Close the store if it was ever built."""
        if not callable(self._sources["store"]):
            self.store.close()

    @property
    def store(self) -> ValidationStore:
        store: ValidationStore = self._provided("store")
        return store

    @property
    def datasets(self) -> DatasetService | None:
        datasets: DatasetService | None = self._provided("datasets")
        return datasets

    @property
    def audit(self) -> AuditService | None:
        audit: AuditService | None = self._provided("audit")
        return audit

    def validate(self, suite: SuiteLike, data: Any, *, halt: bool = False) -> ValidationResult:
        """Run ``suite`` on ``data``; store the result when the data is a dataset version.

        With ``halt=True`` a failing suite raises :class:`ValidationFailed`; its ``result``
        attribute holds the :class:`ValidationResult` (stored first, like any other).
        """
        from shipyard.validation.engine import run_suite

        checked = as_suite(suite)  # every suite mistake surfaces here, before data is touched
        version, source, data_ref = self._resolve(data)
        checks = run_suite(checked, source, reference_path=self._reference_path)
        result = ValidationResult(
            suite_name=checked.name,
            suite_digest=checked.digest,
            data_ref=data_ref,
            success=all(check.success for check in checks),
            checks=checks,
            created_at=now_ms(),
            dataset_version_id=None if version is None else version.id,
        )
        if version is not None:
            result = dataclasses.replace(result, id=self.store.save_result(result))
        self._record(result)
        if halt and not result.success:
            raise ValidationFailed(failure_message(result), details={"id": result.id}, result=result)
        return result

    def list_results(self, version_or_ref: DatasetVersion | str | None = None, limit: int = 100,
                     suite_digest: str | None = None) -> list[ValidationResult]:  # fmt: skip
        """Stored results, newest first: of one dataset version, or of all when None."""
        if not 1 <= limit <= MAX_LISTED:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LISTED}, got {limit}")
        version_id = None if version_or_ref is None else self._version(version_or_ref).id
        return self.store.list_results(version_id, suite_digest, limit)

    def was_validated(self, version_ref: DatasetVersion | str, suite_digest: str) -> ValidationResult | None:
        """The latest result of the suite with this digest on this version (passed or not), or None."""
        return self.store.latest_result(self._version(version_ref).id, suite_digest)

    # -- helpers -------------------------------------------------------------------
    def _version(self, version_or_ref: DatasetVersion | str) -> DatasetVersion:
        if isinstance(version_or_ref, DatasetVersion):
            return version_or_ref
        return self._datasets().get(version_or_ref)

    def _datasets(self) -> DatasetService:
        if self.datasets is None:
            raise InvalidInputError("dataset versions are not available in this workspace")
        return self.datasets

    def _resolve(self, data: Any) -> tuple[DatasetVersion | None, Any, str]:
        """(version or None, what the engine reads, data_ref) for any accepted form of data."""
        if isinstance(data, DatasetVersion):
            return data, self._datasets().local_path(data.ref), data.ref
        if isinstance(data, Path) or (isinstance(data, str) and Path(data).exists()):
            path = Path(data)
            return None, path, str(path)
        if isinstance(data, str):
            if self.datasets is None:
                raise NotFoundError(f"no such file or folder: {data!r}")
            version = self.datasets.get(data)
            return version, self.datasets.local_path(version.ref), version.ref
        return None, data, "<dataframe>"

    def _reference_path(self, ref: str) -> Path:
        return self._datasets().local_path(ref)

    def _record(self, result: ValidationResult) -> None:
        if self.audit is None:
            return
        from shipyard.core.actors import current_actor

        target = f"dataset_version:{result.dataset_version_id}" if result.dataset_version_id else "data"
        payload = {
            "result_id": result.id,
            "suite": result.suite_name,
            "suite_digest": result.suite_digest,
            "data": result.data_ref,
            "success": result.success,
            "failed": [check.kind for check in result.failed],
        }
        self.audit.record(current_actor(), "validation.run", target, payload)


def failure_message(result: ValidationResult) -> str:
    """``suite 'x' failed on name@3: 2 of 10 checks (not_null on amount: ..., ...)``."""
    parts = [
        f"{check.kind}{'' if check.column is None else ' on ' + repr(check.column)}: {check.message}"
        for check in result.failed
    ]
    count = f"{len(parts)} of {len(result.checks)} checks"
    return f"suite {result.suite_name!r} failed on {result.data_ref}: {count} failed: " + "; ".join(parts)
