"""The few reads ``shipyard data status`` needs, straight from an embedded SQLite database.

:class:`~shipyard.datasets.store.sql.SqlDatasetStore` is the store; this module only reads
the same ``datasets`` and ``dataset_versions`` tables with the standard ``sqlite3``
module, read-only, so a status check does not pay for loading SQLAlchemy. It answers
None whenever it cannot answer for sure (not a SQLite URI, no database yet, another
schema, a locked or damaged file); the caller then asks the store.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import NamedTuple

_LATEST = (
    "SELECT d.name, v.version, v.digest, v.kind, v.source_path FROM datasets d "
    "JOIN dataset_versions v ON v.dataset_id = d.id "
    "WHERE v.version = (SELECT MAX(version) FROM dataset_versions WHERE dataset_id = d.id)"
)


class VersionHead(NamedTuple):
    """The latest version of a dataset, without its manifest."""

    name: str
    version: int
    digest: str
    kind: str
    source_path: str | None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a plain ``sqlite:///path`` URI, else None.

    >>> sqlite_path("sqlite:////tmp/x/shipyard.db"), sqlite_path("sqlite:///:memory:")
    (PosixPath('/tmp/x/shipyard.db'), None)
    """
    if not uri.startswith("sqlite:///") or "?" in uri:
        return None
    path = uri.removeprefix("sqlite:///")
    return Path(path) if path and not path.startswith(":memory:") else None


def latest_versions(uri: str, name: str | None = None) -> list[VersionHead] | None:
    """The latest version of ``name`` (or of every dataset, by name), or None if unsure.

    ``[]`` means there is no dataset at all (only when ``name`` is None); an unknown
    ``name`` is None, for the store to report.
    """
    path = sqlite_path(uri)
    if path is None or not path.is_file():
        return None
    query, args = (_LATEST + " AND d.name = ?", (name,)) if name is not None else (_LATEST, ())
    try:
        with contextlib.closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as conn:
            rows = conn.execute(query + " ORDER BY d.name", args).fetchall()
    except sqlite3.Error:
        return None
    if name is not None and not rows:
        return None
    return [VersionHead(str(n), int(v), str(d), str(k), s) for n, v, d, k, s in rows]
