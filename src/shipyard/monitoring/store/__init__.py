"""Monitor stores by URI scheme, imported on first use."""

from __future__ import annotations

MONITOR_STORES: dict[str, str] = {
    "memory": "shipyard.monitoring.store.memory:MemoryMonitorStore",
    "sqlite": "shipyard.monitoring.store.sql:SqlMonitorStore",
    "postgresql": "shipyard.monitoring.store.sql:SqlMonitorStore",
    "postgresql+psycopg": "shipyard.monitoring.store.sql:SqlMonitorStore",
}
