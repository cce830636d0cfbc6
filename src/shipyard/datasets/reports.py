"""What the dataset service reports: status, diff and garbage collection (plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.datasets.models import FileEntry


@dataclass(frozen=True)
class StatusReport:
    """How the folder a version was added from differs from that version.

    ``hashed`` counts the files that had to be read (the others came from the stat cache).
    """

    ref: str
    source_path: str
    added: list[str]
    removed: list[str]
    modified: list[str]
    unchanged_count: int
    hashed: int = 0

    @property
    def clean(self) -> bool:
        """True when the source still holds exactly the version's content."""
        return not (self.added or self.removed or self.modified)


@dataclass(frozen=True)
class ChangedFile:
    path: str
    old: FileEntry
    new: FileEntry


@dataclass(frozen=True)
class SchemaChange:
    """Columns of one tabular file added, removed, or whose type changed ``(column, old, new)``."""

    added: list[list[str]] = field(default_factory=list)
    removed: list[list[str]] = field(default_factory=list)
    type_changed: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DatasetDiff:
    """Two versions side by side.

    ``profile_deltas[file][column][stat] = (a, b, b - a)`` for numeric stats present in both;
    ``row_count`` is ``(a, b)``.
    """

    a: str
    b: str
    added: list[FileEntry]
    removed: list[FileEntry]
    changed: list[ChangedFile]
    unchanged_count: int
    schema_changes: dict[str, SchemaChange]
    profile_deltas: dict[str, dict[str, dict[str, tuple[float, float, float]]]]
    row_count: tuple[int | None, int | None]

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "a": self.a,
            "b": self.b,
            "added": [vars(f) for f in self.added],
            "removed": [vars(f) for f in self.removed],
            "changed": [{"path": c.path, "old": vars(c.old), "new": vars(c.new)} for c in self.changed],
            "unchanged_count": self.unchanged_count,
            "schema_changes": {
                path: {
                    "added": s.added,
                    "removed": s.removed,
                    "type_changed": [list(x) for x in s.type_changed],
                }
                for path, s in self.schema_changes.items()
            },
            "profile_deltas": {
                path: {col: {stat: list(v) for stat, v in stats.items()} for col, stats in cols.items()}
                for path, cols in self.profile_deltas.items()
            },
            "row_count": list(self.row_count),
        }


@dataclass(frozen=True)
class GcReport:
    """Blobs no version references (nor ``keep``): listed in a dry run, deleted otherwise."""

    orphans: list[str]
    bytes: int
    deleted: bool
    referenced_count: int
    kept_count: int
