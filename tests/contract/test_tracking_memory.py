"""The tracking contract on the in-memory store."""

from __future__ import annotations

import pytest

from shipyard.tracking.store.base import TrackingStore
from shipyard.tracking.store.memory import MemoryTrackingStore

from .tracking_contract import TrackingStoreContract


class TestMemoryTrackingStore(TrackingStoreContract):
    @pytest.fixture
    def store(self) -> TrackingStore:
        return MemoryTrackingStore("memory://")
