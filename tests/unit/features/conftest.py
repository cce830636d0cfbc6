"""Fixtures of the feature-store tests: a service on in-memory stores, a clock, Parquet writers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipyard.datasets.service import DatasetService
from shipyard.datasets.store.memory import MemoryDatasetStore
from shipyard.features.models import Entity, FeatureView
from shipyard.features.onlinestore.memory import MemoryOnlineStore
from shipyard.features.service import FeaturesService
from shipyard.features.store.memory import MemoryFeatureRegistryStore
from shipyard.storage.cas import ContentStore
from shipyard.storage.local import LocalBlobStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
USER = Entity(name="user", join_keys=["user_id"])


class Clock:
    """A settable clock in epoch milliseconds."""

    def __init__(self, at: datetime = T0) -> None:
        self.ms = int(at.timestamp() * 1000)

    def set(self, at: datetime) -> None:
        self.ms = int(at.timestamp() * 1000)

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def datasets(tmp_path: Path) -> DatasetService:
    return DatasetService(
        MemoryDatasetStore(), ContentStore(LocalBlobStore(tmp_path / "blobs")), home=tmp_path / "h"
    )


@pytest.fixture
def service(datasets: DatasetService, clock: Clock) -> Iterator[FeaturesService]:
    svc = FeaturesService(MemoryFeatureRegistryStore(), datasets, MemoryOnlineStore(), clock=clock)
    yield svc
    svc.close()


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def transactions(path: Path) -> Path:
    """Three users' feature rows over a few hours (user 3 has one stale row)."""
    hour = timedelta(hours=1)
    rows: list[dict[str, Any]] = [
        {"user_id": 1, "event_time": T0, "avg": 1.0, "count": 10},
        {"user_id": 1, "event_time": T0 + 2 * hour, "avg": 2.0, "count": 20},
        {"user_id": 2, "event_time": T0 + hour, "avg": 5.0, "count": 50},
        {"user_id": 3, "event_time": T0 - 48 * hour, "avg": 9.0, "count": 90},
    ]
    return write_parquet(path, pd.DataFrame(rows))


def stats_view(source: Path | str, ttl: timedelta | None = timedelta(hours=24), **extra: Any) -> FeatureView:
    return FeatureView(
        name="user_stats",
        entities=[USER],
        source=str(source),
        timestamp_field="event_time",
        ttl=ttl,
        features={"avg": "float", "count": "int"},
        **extra,
    )
