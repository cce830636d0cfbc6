"""The contract every online store backend (memory, SQLite, Redis) implements.

An online store keeps, per feature view, the latest packed row of each entity: a map
``key -> bytes`` where the key comes from :func:`shipyard.features.onlinestore.codec.entity_key`
and the bytes from :func:`~shipyard.features.onlinestore.codec.pack`. The store never looks
inside either; choosing which row is the latest is the caller's job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType


class OnlineStore(ABC):
    """Latest feature rows by (view, entity key).

    Every method raises only :mod:`shipyard.core.errors` exceptions
    (``BackendUnavailable`` when the backend cannot be reached). Views need no creation:
    writing to one makes it exist, and an unknown view reads as empty.
    """

    @abstractmethod
    def write_batch(self, view: str, records: Sequence[tuple[str, bytes]]) -> None:
        """Upsert ``(key, value)`` pairs of ``view``, all or none of them.

        A later pair for the same key within one batch wins.
        """

    @abstractmethod
    def read(self, view: str, keys: Sequence[str]) -> list[bytes | None]:
        """The stored value of each key, in the order given; ``None`` where there is none."""

    @abstractmethod
    def delete_view(self, view: str) -> int:
        """Remove every record of ``view``; return how many there were."""

    @abstractmethod
    def count(self, view: str) -> int:
        """How many keys ``view`` holds."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is not used afterwards. Calling it twice is harmless."""

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
