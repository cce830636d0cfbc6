"""The store-level dataset API a server offers to remote clients, validated.

A remote SDK runs :meth:`DatasetService.add` itself: it hashes and profiles the
files, uploads the missing blobs (``PUT /api/v1/blobs/{digest}``) and then asks
the server to record the version with the ids and times it chose. The server
must not trust that request, so :meth:`DatasetRecords.create_version` checks it
first: a valid dataset name, well-formed ids and digests, safe unique file paths,
a total size that adds up, and every file's content stored here with the stated
size. The store numbers the version, as for a local add.

The reads mirror :class:`~shipyard.datasets.store.base.DatasetStore` (the
service's own reads resolve refs; a store over REST needs the raw calls).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInputError
from shipyard.core.ids import check_id
from shipyard.datasets.models import Dataset, DatasetVersion
from shipyard.datasets.refs import check_dataset_name
from shipyard.storage.digests import check_digest
from shipyard.storage.paths import check_artifact_path

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService

KINDS = ("file", "folder")
MAX_LISTED = 50_000


class DatasetRecords:
    """Store-level calls on the store and content store of ``service``, each validated."""

    def __init__(self, service: DatasetService) -> None:
        self.service = service

    # -- writes ----------------------------------------------------------------------
    def create_version(self, draft: DatasetVersion, dataset_id: str) -> tuple[DatasetVersion, bool]:
        """Record ``draft`` whose blobs were uploaded already; (the version, whether it is new).

        When the latest version has the same manifest digest, that version comes back
        and nothing is written (``False``). A new version is recorded in the audit log.
        """
        check_draft(draft)
        check_id(dataset_id, "dataset id")
        self._check_content(draft)
        version = self.service.store.create_version(draft, dataset_id=dataset_id)
        created = version.id == draft.id
        audit = self.service.audit
        if created and audit is not None:
            payload = {"digest": version.digest, "files": len(version.files)}
            audit.record(version.created_by, "dataset.add", f"dataset:{version.ref}", payload)
        return version, created

    def _check_content(self, draft: DatasetVersion) -> None:
        """Every file's content is stored here, with the size the draft states."""
        content = self.service.content
        for entry in {f.digest: f for f in draft.files}.values():
            stored = content.size(entry.digest) if content.exists(entry.digest) else None
            if stored is None:
                raise InvalidInputError(
                    f"the content of {entry.path!r} ({entry.digest}) is not on the server: "
                    "upload it (PUT /api/v1/blobs/{digest}) before recording the version",
                    details={"path": entry.path, "digest": entry.digest},
                )
            if stored != entry.size:
                raise InvalidInputError(
                    f"{entry.path!r} is stated to be {entry.size} bytes but its content ({entry.digest}) "
                    f"is {stored} bytes",
                    details={"path": entry.path, "digest": entry.digest},
                )

    # -- reads -----------------------------------------------------------------------
    def get_dataset(self, name: str) -> Dataset:
        return self.service.store.get_dataset(check_dataset_name(name))

    def list_datasets(self, limit: int = 1000, offset: int = 0) -> builtins.list[Dataset]:
        return self.service.store.list_datasets(*_page(limit, offset))

    def get_version(self, name: str, version: int) -> DatasetVersion:
        if version < 1:
            raise InvalidInputError(f"version numbers start at 1, got {version}")
        return self.service.store.get_version(check_dataset_name(name), version)

    def find_latest_version(self, name: str) -> DatasetVersion | None:
        return self.service.store.find_latest_version(check_dataset_name(name))

    def find_version_by_digest(self, name: str, digest: str) -> DatasetVersion | None:
        return self.service.store.find_version_by_digest(check_dataset_name(name), check_digest(digest))

    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> builtins.list[DatasetVersion]:
        return self.service.store.list_versions(check_dataset_name(name), *_page(limit, offset))

    def referenced_digests(self) -> set[str]:
        return self.service.store.referenced_digests()


def check_draft(draft: DatasetVersion) -> None:
    """Raise :class:`InvalidInputError` unless ``draft`` is a well-formed new version."""
    check_dataset_name(draft.name)
    check_id(draft.id, "dataset version id")
    check_digest(draft.digest)
    if draft.kind not in KINDS:
        raise InvalidInputError(f"invalid dataset kind {draft.kind!r}: use one of {', '.join(KINDS)}")
    if draft.kind == "file" and len(draft.files) != 1:
        raise InvalidInputError(f"a 'file' version has exactly one file, got {len(draft.files)}")
    if draft.created_at < 0 or (draft.row_count is not None and draft.row_count < 0):
        raise InvalidInputError("created_at and row_count cannot be negative")
    paths: set[str] = set()
    for entry in draft.files:
        try:
            normal = check_artifact_path(entry.path)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"invalid file path {entry.path!r} in the manifest: {exc.message}"
            ) from exc
        if normal != entry.path or entry.path in paths:
            raise InvalidInputError(f"invalid or repeated file path {entry.path!r} in the manifest")
        paths.add(entry.path)
        check_digest(entry.digest)
        if entry.size < 0:
            raise InvalidInputError(f"file {entry.path!r} has a negative size")
    total = sum(f.size for f in draft.files)
    if draft.size != total:
        raise InvalidInputError(
            f"the version's size {draft.size} is not the sum of its files' sizes ({total})"
        )


def _page(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= MAX_LISTED or offset < 0:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LISTED} and offset >= 0")
    return limit, offset
