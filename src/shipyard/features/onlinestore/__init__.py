"""Online stores by URI scheme, imported on first use.

``open_online_store(settings.online_uri, settings.home)``; an empty URI means the SQLite
file ``<home>/online.db``.

>>> store = open_online_store("memory://", None)
>>> type(store).__name__
'MemoryOnlineStore'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.plugins import resolve

if TYPE_CHECKING:
    from shipyard.features.onlinestore.base import OnlineStore

__all__ = ["ONLINE_STORES", "open_online_store"]

ONLINE_STORES: dict[str, str] = {
    "memory": "shipyard.features.onlinestore.memory:MemoryOnlineStore",
    "sqlite": "shipyard.features.onlinestore.sqlite:SqliteOnlineStore",
    "redis": "shipyard.features.onlinestore.redis:RedisOnlineStore",
    "rediss": "shipyard.features.onlinestore.redis:RedisOnlineStore",
    "unix": "shipyard.features.onlinestore.redis:RedisOnlineStore",
}


def open_online_store(uri: str, home: str | Path | None) -> OnlineStore:
    """The online store named by ``uri`` (``""``: ``<home>/online.db``)."""
    uri = uri or "sqlite://"
    store: OnlineStore = resolve(ONLINE_STORES, uri, "online store")(uri, home)
    return store
