"""Serving backends by URI scheme, imported on first use."""

from __future__ import annotations

SERVING_STORES: dict[str, str] = {
    "memory": "shipyard.serving.store.memory:MemoryServingStore",
    "sqlite": "shipyard.serving.store.sql:SqlServingStore",
    "postgresql": "shipyard.serving.store.sql:SqlServingStore",
    "postgresql+psycopg": "shipyard.serving.store.sql:SqlServingStore",
}
