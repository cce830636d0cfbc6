"""Validation-result backends by URI scheme, imported on first use.

There is no REST store yet: in remote mode (``http``/``https``) validation results
cannot be stored, and resolving a store for those schemes says so.
"""

from __future__ import annotations

VALIDATION_STORES: dict[str, str] = {
    "memory": "shipyard.validation.store.memory:MemoryValidationStore",
    "sqlite": "shipyard.validation.store.sql:SqlValidationStore",
    "postgresql": "shipyard.validation.store.sql:SqlValidationStore",
    "postgresql+psycopg": "shipyard.validation.store.sql:SqlValidationStore",
}
