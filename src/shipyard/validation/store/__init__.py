"""Validation-result backends by URI scheme, imported on first use (``http(s)``: a server)."""

from __future__ import annotations

VALIDATION_STORES: dict[str, str] = {
    "memory": "shipyard.validation.store.memory:MemoryValidationStore",
    "sqlite": "shipyard.validation.store.sql:SqlValidationStore",
    "postgresql": "shipyard.validation.store.sql:SqlValidationStore",
    "postgresql+psycopg": "shipyard.validation.store.sql:SqlValidationStore",
    "http": "shipyard.validation.store.rest:RestValidationStore",
    "https": "shipyard.validation.store.rest:RestValidationStore",
}
