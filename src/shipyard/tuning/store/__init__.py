"""Where studies are kept: Optuna journal backends by URI scheme, imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.tuning.store.base import JournalStore

TUNING_STORES: dict[str, str] = {
    "memory": "shipyard.tuning.store.memory:MemoryJournalStore",
    "sqlite": "shipyard.tuning.store.sql:SqlJournalStore",
    "postgresql": "shipyard.tuning.store.sql:SqlJournalStore",
    "postgresql+psycopg": "shipyard.tuning.store.sql:SqlJournalStore",
}


def open_journal(uri: str) -> JournalStore:
    """The journal backend of ``uri``."""
    from shipyard.core.plugins import resolve

    store: JournalStore = resolve(TUNING_STORES, uri, "tuning store")(uri)
    return store
