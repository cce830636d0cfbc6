"""Dataset backends by URI scheme, imported on first use."""

from __future__ import annotations

DATASET_STORES: dict[str, str] = {
    "memory": "shipyard.datasets.store.memory:MemoryDatasetStore",
    "sqlite": "shipyard.datasets.store.sql:SqlDatasetStore",
    "postgresql": "shipyard.datasets.store.sql:SqlDatasetStore",
    "postgresql+psycopg": "shipyard.datasets.store.sql:SqlDatasetStore",
    "http": "shipyard.datasets.store.rest:RestDatasetStore",
    "https": "shipyard.datasets.store.rest:RestDatasetStore",
}
