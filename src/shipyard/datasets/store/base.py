"""The contract every dataset backend (memory, SQL, REST) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from shipyard.datasets.models import Dataset, DatasetVersion


class DatasetStore(ABC):
    """Persistence of datasets and their immutable versions.

    Every method raises only :mod:`shipyard.core.errors` exceptions: ``NotFoundError``
    for an unknown dataset or version, ``AlreadyExistsError`` for a clashing id,
    ``BackendUnavailable`` when the backend cannot be reached. Names and refs are
    already validated by the service.
    """

    @abstractmethod
    def create_version(self, draft: DatasetVersion, dataset_id: str) -> DatasetVersion:
        """Record a new version of ``draft.name``, all in one transaction.

        The dataset row is created (with id ``dataset_id``) if the name is new. The
        version number is the dataset's last + 1, decided inside the transaction, so two
        concurrent calls never get the same number; ``draft.version`` is ignored. If the
        latest version already has ``draft.digest``, that version is returned and nothing
        is written (the caller sees it by its id differing from ``draft.id``).
        """

    @abstractmethod
    def get_dataset(self, name: str) -> Dataset: ...

    @abstractmethod
    def list_datasets(self, limit: int = 1000, offset: int = 0) -> list[Dataset]:
        """Datasets sorted by name."""

    @abstractmethod
    def get_version(self, name: str, version: int) -> DatasetVersion: ...

    @abstractmethod
    def find_latest_version(self, name: str) -> DatasetVersion | None:
        """The highest-numbered version of ``name``; None if the dataset does not exist."""

    @abstractmethod
    def find_version_by_digest(self, name: str, digest: str) -> DatasetVersion | None:
        """The newest version of ``name`` whose manifest digest is ``digest``."""

    @abstractmethod
    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[DatasetVersion]:
        """Versions of ``name``, oldest first; ``NotFoundError`` if the dataset does not exist."""

    @abstractmethod
    def referenced_digests(self) -> set[str]:
        """Every file digest of every version of every dataset (what ``gc`` must keep)."""

    def close(self) -> None:  # noqa: B027  (optional hook: most stores hold nothing to release)
        """Release connections and threads."""
