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


def sqlite_path(uri: str) -> str | None:
    """The database file of a plain ``sqlite:///path`` URI, else None.

    >>> sqlite_path("sqlite:////tmp/x/shipyard.db"), sqlite_path("sqlite:///:memory:")
    ('/tmp/x/shipyard.db', None)
    """
    if not uri.startswith("sqlite:///") or "?" in uri:
        return None
    path = uri.removeprefix("sqlite:///")
    return path if path and not path.startswith(":memory:") else None
