"""The contract every feature registry backend (memory, SQL, REST) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from shipyard.features.models import Definition, Watermark


class FeatureRegistryStore(ABC):
    """Versioned definitions (entities, views, on-demand features, services) and watermarks.

    A definition is named by ``(kind, name)``; its versions are numbered from 1 and never
    change once written. Every method raises only :mod:`shipyard.core.errors` exceptions:
    ``NotFoundError`` for an unknown name or version, ``AlreadyExistsError`` for a clashing
    id, ``ConflictError`` when ``expected_version`` no longer holds, ``BackendUnavailable``
    when the backend cannot be reached. Names and specs are checked by the service.
    """

    @abstractmethod
    def create_definition(self, draft: Definition, expected_version: int | None = None) -> Definition:
        """Record ``draft`` as the next version of ``(draft.kind, draft.name)``, in one transaction.

        The number is the latest + 1, decided inside the transaction (``draft.version`` is
        ignored). If the latest version already has ``draft.digest`` it is returned and
        nothing is written (the caller sees it by its id differing from ``draft.id``). With
        ``expected_version`` (0: no version yet) the write is refused with ``ConflictError``
        when the latest version is another one: someone applied in between.
        """

    @abstractmethod
    def get_definition(self, kind: str, name: str, version: int) -> Definition: ...

    @abstractmethod
    def find_latest(self, kind: str, name: str) -> Definition | None:
        """The highest-numbered version, or None when the name has none."""

    @abstractmethod
    def list_definitions(
        self, kind: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[Definition]:
        """The latest version of every name (of ``kind``), sorted by kind then name."""

    @abstractmethod
    def list_versions(self, kind: str, name: str) -> list[Definition]:
        """Every version, oldest first; ``NotFoundError`` when there is none."""

    @abstractmethod
    def set_watermark(self, watermark: Watermark) -> None:
        """Record (replace) how far ``watermark.view`` was materialised."""

    @abstractmethod
    def find_watermark(self, view: str) -> Watermark | None: ...

    @abstractmethod
    def list_watermarks(self) -> list[Watermark]:
        """Every view's watermark, by view name."""

    def close(self) -> None:  # noqa: B027  (optional hook: most stores hold nothing to release)
        """Release connections and threads."""
