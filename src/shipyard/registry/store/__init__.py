"""Registry backends by URI scheme, imported on first use."""

from __future__ import annotations

REGISTRY_STORES: dict[str, str] = {
    "memory": "shipyard.registry.store.memory:MemoryRegistryStore",
    "sqlite": "shipyard.registry.store.sql:SqlRegistryStore",
    "postgresql": "shipyard.registry.store.sql:SqlRegistryStore",
    "postgresql+psycopg": "shipyard.registry.store.sql:SqlRegistryStore",
}
