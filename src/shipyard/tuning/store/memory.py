"""Studies in a list, for tests and throwaway searches (``memory://``; one process only)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any

from shipyard.tuning.store.base import JournalStore


class MemoryJournalStore(JournalStore):
    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._logs: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._logs[log_number_from:])

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        with self._lock:
            self._logs.extend(copy.deepcopy(logs))
