"""Feature registry backends by URI scheme, imported on first use."""

from __future__ import annotations

FEATURE_STORES: dict[str, str] = {
    "memory": "shipyard.features.store.memory:MemoryFeatureRegistryStore",
    "sqlite": "shipyard.features.store.sql:SqlFeatureRegistryStore",
    "postgresql": "shipyard.features.store.sql:SqlFeatureRegistryStore",
    "postgresql+psycopg": "shipyard.features.store.sql:SqlFeatureRegistryStore",
    "http": "shipyard.features.store.rest:RestFeatureRegistryStore",
    "https": "shipyard.features.store.rest:RestFeatureRegistryStore",
}
