"""The store-level validation API a server offers to remote clients, validated.

A remote SDK runs the suite itself (it downloads the version's files) and then
asks the server to keep the result. :meth:`ValidationRecords.save_result` checks
the result's shape first (ids, suite digest, a verdict that agrees with its
checks); the SQL store refuses a result on a dataset version that does not
exist. A stored result on a dataset version is recorded in the audit log, as a
local run records it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInputError
from shipyard.core.ids import check_id
from shipyard.validation.models import ValidationResult

if TYPE_CHECKING:
    from shipyard.validation.service import ValidationService

MAX_LISTED = 10_000
_SUITE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class ValidationRecords:
    """Store-level calls on the store of ``service``, each validated."""

    def __init__(self, service: ValidationService) -> None:
        self.service = service

    def save_result(self, result: ValidationResult, actor: str) -> str:
        """Store ``result`` under its id (or a new one); the id. Audited as ``actor``."""
        check_result(result)
        result_id = self.service.store.save_result(result)
        audit = self.service.audit
        if audit is not None:
            saved = dataclasses.replace(result, id=result_id)
            target = f"dataset_version:{saved.dataset_version_id}" if saved.dataset_version_id else "data"
            payload = {
                "result_id": saved.id,
                "suite": saved.suite_name,
                "suite_digest": saved.suite_digest,
                "data": saved.data_ref,
                "success": saved.success,
                "failed": [check.kind for check in saved.failed],
            }
            audit.record(actor, "validation.run", target, payload)
        return result_id

    def list_results(
        self, dataset_version_id: str | None = None, suite_digest: str | None = None, limit: int = 100
    ) -> list[ValidationResult]:
        """Results matching the filters, newest first."""
        if not 1 <= limit <= MAX_LISTED:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LISTED}, got {limit}")
        if dataset_version_id is not None:
            check_id(dataset_version_id, "dataset version id")
        if suite_digest is not None:
            check_suite_digest(suite_digest)
        return self.service.store.list_results(dataset_version_id, suite_digest, limit)

    def latest_result(self, dataset_version_id: str, suite_digest: str) -> ValidationResult | None:
        """The newest result of the suite on the version, or None."""
        check_id(dataset_version_id, "dataset version id")
        return self.service.store.latest_result(dataset_version_id, check_suite_digest(suite_digest))


def check_suite_digest(digest: str) -> str:
    """``digest`` if it is spelled like :attr:`Suite.digest` (``sha256:<64 hex>``)."""
    if not _SUITE_DIGEST.fullmatch(digest):
        raise InvalidInputError(f"invalid suite digest {digest!r}: expected 'sha256:' and 64 lowercase hex")
    return digest


def check_result(result: ValidationResult) -> None:
    """Raise :class:`InvalidInputError` unless ``result`` is well formed."""
    if result.id is not None:
        check_id(result.id, "validation result id")
    if result.dataset_version_id is not None:
        check_id(result.dataset_version_id, "dataset version id")
    check_suite_digest(result.suite_digest)
    if not result.suite_name or not result.data_ref:
        raise InvalidInputError("a validation result needs a suite name and a data reference")
    if result.created_at < 0:
        raise InvalidInputError(f"created_at cannot be negative, got {result.created_at}")
    if result.success != all(check.success for check in result.checks):
        raise InvalidInputError("the result's success does not agree with its checks")
    for check in result.checks:
        if not check.kind or not 0.0 <= check.failing_fraction <= 1.0 or check.failing_rows < 0:
            raise InvalidInputError(f"invalid check result {check.kind or '(no kind)'!r}")
