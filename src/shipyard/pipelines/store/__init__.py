"""Pipeline backends (runs and the step cache; schedules) by URI scheme, imported on first use."""

from __future__ import annotations

PIPELINE_STORES: dict[str, str] = {
    "memory": "shipyard.pipelines.store.memory:MemoryPipelineStore",
    "sqlite": "shipyard.pipelines.store.sql:SqlPipelineStore",
    "postgresql": "shipyard.pipelines.store.sql:SqlPipelineStore",
    "postgresql+psycopg": "shipyard.pipelines.store.sql:SqlPipelineStore",
}

SCHEDULE_STORES: dict[str, str] = {
    "memory": "shipyard.pipelines.store.memory:MemoryScheduleStore",
    "sqlite": "shipyard.pipelines.store.sql_schedules:SqlScheduleStore",
    "postgresql": "shipyard.pipelines.store.sql_schedules:SqlScheduleStore",
    "postgresql+psycopg": "shipyard.pipelines.store.sql_schedules:SqlScheduleStore",
}
