"""Use cases of monitoring's statistics: reference profiles, drift, data quality, multivariate drift.

Data is given as a pandas DataFrame, an Arrow table, a path to Parquet files, a
dataset reference ``"name@3"`` or (as a reference) a
:class:`~shipyard.monitoring.profiles.ReferenceProfile`. The profile of a dataset
version is built once, stored in the content store and found again by the version's
digest (:class:`~shipyard.monitoring.profile_cache.ProfileCache`), so a later check
against it reads only the current data. The datasets service and the content store
are opened only when a dataset reference is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.monitoring.models import DEFAULT_DRIFT_SHARE, QualityLimits

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.monitoring.inputs import ProfileProvider
    from shipyard.monitoring.models import DomainClassifierResult, DriftReport, QualityCheck
    from shipyard.monitoring.profile_cache import ContentLike, ProfileCache
    from shipyard.monitoring.profiles import ReferenceProfile

__all__ = ["MonitoringService"]


class MonitoringService:
    """Profiles, drift and data quality; ``datasets`` and ``content`` are built on first use."""

    def __init__(
        self,
        datasets: Callable[[], DatasetService] | None = None,
        content: Callable[[], ContentLike] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self._datasets = datasets
        self._content = content
        self._cache_dir = cache_dir
        self._cache: ProfileCache | None = None

    # -- profiles --------------------------------------------------------------------
    def profile(self, data: Any, columns: list[str] | None = None) -> ReferenceProfile:
        """The profile of ``data``; a dataset version's is the stored one (built on first use)."""
        from shipyard.monitoring.inputs import StoredProfiles, provider_for, source_for
        from shipyard.monitoring.profiles import build_profile

        if isinstance(data, str) and columns is None:
            provider = provider_for(data, self.datasets(), self.profile_cache())
            assert isinstance(provider, StoredProfiles)
            return provider.stored
        name = data if isinstance(data, str) else None
        return build_profile(source_for(data, self._datasets_for(data)), columns, source=name)

    # -- checks ----------------------------------------------------------------------
    def drift(
        self,
        reference: Any,
        current: Any,
        columns: list[str] | None = None,
        tests: str | Mapping[str, str] | None = None,
        thresholds: float | Mapping[str, float] | None = None,
        drift_share: float = DEFAULT_DRIFT_SHARE,
    ) -> DriftReport:
        """Per-column drift of ``current`` from ``reference`` (rules in ``monitoring.detection``)."""
        from shipyard.monitoring.detection import detect_drift

        ref, cur = self._providers(reference, current)
        return detect_drift(ref, cur, columns, tests, thresholds, drift_share)

    def data_quality(
        self,
        reference: Any,
        current: Any,
        columns: list[str] | None = None,
        limits: QualityLimits | None = None,
    ) -> list[QualityCheck]:
        """Null-rate jumps, out-of-range values and unseen categories against the reference's profile."""
        from shipyard.monitoring.quality import check_quality

        ref, cur = self._providers(reference, current)
        return check_quality(ref, cur, columns, limits or QualityLimits())

    def multivariate_drift(
        self, reference: Any, current: Any, columns: list[str] | None = None, **options: Any
    ) -> DomainClassifierResult:
        """Cross-validated ROC AUC of a reference-vs-current classifier (options of ``domain_classifier``)."""
        from shipyard.monitoring.inputs import source_for
        from shipyard.monitoring.multivariate import domain_classifier

        datasets = self._datasets_for(reference, current)
        ref, cur = source_for(reference, datasets), source_for(current, datasets)
        return domain_classifier(ref, cur, columns, **options)

    # -- wiring ----------------------------------------------------------------------
    def datasets(self) -> DatasetService | None:
        return self._datasets() if self._datasets is not None else None

    def profile_cache(self) -> ProfileCache | None:
        """Where dataset versions' profiles are kept; None without a content store."""
        if self._cache is None and self._content is not None and self._cache_dir is not None:
            from shipyard.monitoring.profile_cache import ProfileCache

            self._cache = ProfileCache(self._content(), self._cache_dir)
        return self._cache

    def _datasets_for(self, *data: Any) -> DatasetService | None:
        return self.datasets() if any(isinstance(d, str) for d in data) else None

    def _providers(self, reference: Any, current: Any) -> tuple[ProfileProvider, ProfileProvider]:
        from shipyard.monitoring.inputs import provider_for

        datasets = self._datasets_for(reference, current)
        cache = self.profile_cache() if isinstance(reference, str) else None
        return provider_for(reference, datasets, cache), provider_for(current, datasets)
