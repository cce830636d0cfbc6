"""Statistics shared by the validation and monitoring domains.

:mod:`shipyard.stats.drift` holds the drift tests (``psi``, ``ks``, ``chi2``,
``wasserstein``, ``jensen_shannon``) and the :func:`drift_test` dispatcher.
"""

from __future__ import annotations

from shipyard.stats.drift import (
    DEFAULT_THRESHOLDS,
    DRIFT_TESTS,
    PSI_EPSILON,
    Chi2Result,
    DriftResult,
    KSResult,
    chi2,
    drift_test,
    jensen_shannon,
    ks,
    psi,
    wasserstein,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DRIFT_TESTS",
    "PSI_EPSILON",
    "Chi2Result",
    "DriftResult",
    "KSResult",
    "chi2",
    "drift_test",
    "jensen_shannon",
    "ks",
    "psi",
    "wasserstein",
]
