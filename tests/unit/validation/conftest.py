"""Fixtures of the validation tests: a stand-in for ``shipyard.stats.drift`` until it lands."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest


@dataclass(frozen=True)
class FakeDrift:
    test: str
    statistic: float
    p_value: float | None
    drifted: bool
    threshold: float


def fake_drift_test(name: str, reference: Any, current: Any, threshold: float | None = None) -> FakeDrift:
    """Difference of means, drifted above the threshold (0.5 by default)."""
    limit = 0.5 if threshold is None else threshold
    statistic = abs(float(np.mean(current)) - float(np.mean(reference)))
    return FakeDrift(name, statistic, None, statistic > limit, limit)


@pytest.fixture
def drift_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real drift module when it exists, else a fake installed in ``sys.modules``."""
    try:
        import shipyard.stats.drift as real

        return real
    except ImportError:
        pass
    stats = types.ModuleType("shipyard.stats")
    drift = types.ModuleType("shipyard.stats.drift")
    drift.drift_test = fake_drift_test  # type: ignore[attr-defined]
    stats.drift = drift  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shipyard.stats", stats)
    monkeypatch.setitem(sys.modules, "shipyard.stats.drift", drift)
    return drift
