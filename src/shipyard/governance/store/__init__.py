"""Governance backends by URI scheme, as dotted paths imported on first use.

Resolve one with :func:`shipyard.core.plugins.resolve`, e.g.
``resolve(AUDIT_STORES, uri, "audit store")(uri)``.
"""

from __future__ import annotations

_SQL = "shipyard.governance.store.sql"
_REST = "shipyard.governance.store.rest"

AUDIT_STORES: dict[str, str] = {
    "memory": "shipyard.governance.store.memory:MemoryAuditStore",
    "sqlite": f"{_SQL}:SqlAuditStore",
    "postgresql": f"{_SQL}:SqlAuditStore",
    "postgresql+psycopg": f"{_SQL}:SqlAuditStore",
    "http": f"{_REST}:RestAuditStore",
    "https": f"{_REST}:RestAuditStore",
}

AUTH_STORES: dict[str, str] = {
    "memory": "shipyard.governance.store.memory:MemoryAuthStore",
    "sqlite": f"{_SQL}:SqlAuthStore",
    "postgresql": f"{_SQL}:SqlAuthStore",
    "postgresql+psycopg": f"{_SQL}:SqlAuthStore",
    "http": f"{_REST}:RestAuthStore",
    "https": f"{_REST}:RestAuthStore",
}

__all__ = ["AUDIT_STORES", "AUTH_STORES"]
