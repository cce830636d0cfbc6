"""Pipeline backends by URI scheme, imported on first use."""

from __future__ import annotations

PIPELINE_STORES: dict[str, str] = {
    "memory": "shipyard.pipelines.store.memory:MemoryPipelineStore",
    "sqlite": "shipyard.pipelines.store.sql:SqlPipelineStore",
    "postgresql": "shipyard.pipelines.store.sql:SqlPipelineStore",
    "postgresql+psycopg": "shipyard.pipelines.store.sql:SqlPipelineStore",
}
