"""Tracking backends by URI scheme, imported on first use."""

from __future__ import annotations

TRACKING_STORES: dict[str, str] = {
    "memory": "shipyard.tracking.store.memory:MemoryTrackingStore",
    "sqlite": "shipyard.tracking.store.sql:SqlTrackingStore",
    "postgresql": "shipyard.tracking.store.sql:SqlTrackingStore",
    "postgresql+psycopg": "shipyard.tracking.store.sql:SqlTrackingStore",
    "http": "shipyard.tracking.store.rest:RestTrackingStore",
    "https": "shipyard.tracking.store.rest:RestTrackingStore",
}
