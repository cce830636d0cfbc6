"""The few reads ``shipyard data status`` needs, straight from an embedded SQLite database.

:class:`~shipyard.datasets.store.sql.SqlDatasetStore` is the store; this module only reads
the same ``datasets`` and ``dataset_versions`` tables with the standard ``sqlite3``
module, read-only, so a status check does not pay for loading SQLAlchemy. It answers
None whenever it cannot answer for sure (not a SQLite URI, no database yet, another
schema, a locked or damaged file); the caller then asks the store.
"""

from __future__ import annotations

import os
import sqlite3
from collections import namedtuple  # loaded by sqlite3 anyway; typing.NamedTuple would load typing and re

from shipyard.datasets.store import sqlite_path

__all__ = ["VersionHead", "latest_versions", "read_only_uri", "sqlite_path"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple

    class _Head(NamedTuple):
        name: str
        version: int
        digest: str
        kind: str
        source_path: str | None

else:
    _Head = namedtuple("_Head", "name version digest kind source_path")

_LATEST = (
    "SELECT d.name, v.version, v.digest, v.kind, v.source_path FROM datasets d "
    "JOIN dataset_versions v ON v.dataset_id = d.id "
    "WHERE v.version = (SELECT MAX(version) FROM dataset_versions WHERE dataset_id = d.id)"
)


class VersionHead(_Head):
    """The latest version of a dataset, no manifest: ``(name, version, digest, kind, source_path)``."""

    __slots__ = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def read_only_uri(path: str) -> str:
    """The SQLite URI that opens the database file ``path`` read-only.

    >>> read_only_uri("/srv/a?b#c%d.db")
    'file:/srv/a%3fb%23c%25d.db?mode=ro'
    """
    quoted = os.path.abspath(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")  # noqa: PTH100
    return f"file:{quoted}?mode=ro"


def latest_versions(uri: str, name: str | None = None) -> list[VersionHead] | None:
    """The latest version of ``name`` (or of every dataset, by name), or None if unsure.

    ``[]`` means there is no dataset at all (only when ``name`` is None); an unknown
    ``name`` is None, for the store to report.
    """
    path = sqlite_path(uri)
    if path is None or not os.path.isfile(path):  # noqa: PTH113
        return None
    query, args = (_LATEST + " AND d.name = ?", (name,)) if name is not None else (_LATEST, ())
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            rows = conn.execute(query + " ORDER BY d.name", args).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    if name is not None and not rows:
        return None
    return [VersionHead(str(n), int(v), str(d), str(k), s) for n, v, d, k, s in rows]
