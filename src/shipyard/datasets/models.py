"""Entities of data versioning: plain dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FileEntry:
    """One file of a version: path relative to the dataset root (posix), content digest, size."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    created_at: int


@dataclass(frozen=True)
class DatasetVersion:
    """An immutable snapshot of a file or folder.

    ``digest`` is the blake3 of the canonical manifest (sorted ``[path, digest, size]``
    triples), so two versions with the same content have the same digest. ``kind`` is
    ``"file"`` (a single file, whose entry path is its file name) or ``"folder"``.
    ``schema`` maps each tabular file to its ``[[column, type], ...]``; ``profile`` maps
    each tabular file to ``{column: {stat: value}}``; both are empty for other data.
    """

    id: str
    name: str
    version: int
    digest: str
    created_at: int
    kind: str
    files: tuple[FileEntry, ...]
    size: int
    message: str | None = None
    created_by: str = ""
    source_path: str | None = None
    row_count: int | None = None
    schema: dict[str, list[list[str]]] = field(default_factory=dict)
    profile: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``name@version``, the way users name a version."""
        return f"{self.name}@{self.version}"
