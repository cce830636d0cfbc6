"""The contract every validation-result backend (memory, SQL) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from shipyard.validation.models import ValidationResult


class ValidationStore(ABC):
    """Persistence of validation results, by dataset version and suite digest.

    Results are immutable once saved. Methods raise only :mod:`shipyard.core.errors`
    exceptions (``BackendUnavailable`` when the backend cannot be reached).
    """

    @abstractmethod
    def save_result(self, result: ValidationResult) -> str:
        """Store ``result`` (all or nothing) under its ``id``, or a new id when it has none; returns the id.
        ``AlreadyExistsError`` if that id is taken."""

    @abstractmethod
    def list_results(
        self, dataset_version_id: str | None = None, suite_digest: str | None = None, limit: int = 100
    ) -> list[ValidationResult]:
        """Results matching the filters (None matches all), newest first, at most ``limit``."""

    @abstractmethod
    def latest_result(self, dataset_version_id: str, suite_digest: str) -> ValidationResult | None:
        """The newest result of this suite on this version, or None."""

    def close(self) -> None:  # noqa: B027  (optional hook: most stores hold nothing to release)
        """Release connections."""
