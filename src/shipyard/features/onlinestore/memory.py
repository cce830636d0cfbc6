"""An online store in a Python dict, for tests and single-process experiments."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from shipyard.core.errors import InvalidInputError
from shipyard.features.onlinestore.base import OnlineStore


class MemoryOnlineStore(OnlineStore):
    """Records live as long as the object; ``memory://`` URIs get a fresh, empty store.

    >>> store = MemoryOnlineStore()
    >>> store.write_batch("v", [("i1", b"x")])
    >>> store.read("v", ["i1", "i2"]), store.count("v"), store.delete_view("v"), store.count("v")
    ([b'x', None], 1, 1, 0)
    """

    def __init__(self, uri: str = "memory://", home: str | Path | None = None) -> None:
        self._views: dict[str, dict[str, bytes]] = {}
        self._lock = threading.Lock()

    def write_batch(self, view: str, records: Sequence[tuple[str, bytes]]) -> None:
        update: dict[str, bytes] = {}
        for key, value in records:
            if not isinstance(value, bytes | bytearray | memoryview) or not isinstance(key, str):
                raise InvalidInputError(f"online records are (str, bytes) pairs, got ({key!r}, {value!r})")
            update[key] = bytes(value)
        with self._lock:
            self._views.setdefault(view, {}).update(update)

    def read(self, view: str, keys: Sequence[str]) -> list[bytes | None]:
        rows = self._views.get(view)
        if rows is None:
            return [None] * len(keys)
        return [rows.get(key) for key in keys]

    def delete_view(self, view: str) -> int:
        with self._lock:
            return len(self._views.pop(view, {}))

    def count(self, view: str) -> int:
        return len(self._views.get(view, ()))

    def close(self) -> None:
        pass
