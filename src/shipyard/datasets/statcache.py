"""The stat cache: what spares reading an unchanged file again, in one SQLite file.

``<home>/cache/statcache.sqlite`` holds one row per **source** (the folder or file a
dataset is added from, or the root a caller hashed files under), readable with the
standard ``sqlite3`` module alone, so ``shipyard data status`` can answer without loading
the rest of Shipyard:

* ``listing``: the canonical JSON of ``[[logical path, size, mtime_ns, inode], ...]``,
  sorted by path, of the files under ``base`` (the source folder, or a file's folder);
* ``digests``: the JSON list of their digests, in the same order (``null`` for a file
  not to be trusted: one written within the racy window, see
  :mod:`shipyard.datasets.hashing`);
* ``manifest``: when the listing is complete and every file has its digest, the digest
  of the manifest the source held, else null.

A file whose size, mtime and inode are as listed is taken to have the listed digest
(the assumption git and DVC make). And when a fresh scan of a source gives the very
same listing as a row with a ``manifest``, the source still holds that manifest: no
per-file lookup is needed at all.

Every failure to read or write the cache (a corrupt or locked file, a read-only home)
only costs a re-read: the cache is an optimisation.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from shipyard.datasets.snapshot import SourceFile

#: ``(absolute path, size, mtime_ns, inode, digest)``
CacheRow = tuple[str, int, int, int, str]
#: ``(logical path, size, mtime_ns, inode)``
ListedFile = tuple[str, int, int, int]
SCHEMA_VERSION = 3
_SCHEMA = (
    "DROP TABLE IF EXISTS files",  # older layouts
    "DROP TABLE IF EXISTS folders",
    "DROP TABLE IF EXISTS trees",
    "CREATE TABLE IF NOT EXISTS sources (root TEXT PRIMARY KEY, base TEXT NOT NULL, manifest TEXT, "
    "listing BLOB NOT NULL, digests BLOB NOT NULL)",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_ERRORS = (sqlite3.Error, OSError, orjson.JSONDecodeError, TypeError, ValueError)


def cache_file(home: Path | str) -> Path:
    """Where the stat cache of a Shipyard home is."""
    return Path(home) / "cache" / "statcache.sqlite"


class StatCache:
    """The stat cache in one SQLite file; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            for statement in _SCHEMA:
                conn.execute(statement)
        return conn

    def load(self, root: Path | str) -> dict[str, tuple[int, int, int, str]]:
        """Every trusted entry at or under ``root``: absolute path -> (size, mtime_ns, inode, digest)."""
        if not self.path.is_file():
            return {}
        base = os.path.abspath(root)  # noqa: PTH100  (no symlink resolution, fast)
        low = base.rstrip(os.sep) + os.sep
        ancestors = [str(p) for p in Path(base).parents]
        try:
            with contextlib.closing(self._connect()) as conn:
                rows = conn.execute(
                    "SELECT base, listing, digests FROM sources WHERE root = ? OR (root >= ? AND root < ?) "
                    f"OR root IN ({', '.join('?' * len(ancestors)) or 'NULL'})",
                    (base, low, low[:-1] + chr(ord(os.sep) + 1), *ancestors),
                ).fetchall()
            found: dict[str, tuple[int, int, int, str]] = {}
            for folder, listing_json, digests_json in rows:
                head = folder.rstrip(os.sep) + os.sep
                listed = orjson.loads(listing_json)
                for (logical, size, mtime_ns, inode), digest in zip(
                    listed, orjson.loads(digests_json), strict=True
                ):
                    path = head + logical
                    if digest is not None and (path == base or path.startswith(low)):
                        found[path] = (size, mtime_ns, inode, digest)
            return found
        except _ERRORS:
            return {}

    def find_source(self, root: str) -> tuple[str, bytes] | None:
        """``(manifest digest, listing)`` recorded for the source ``root``, if a manifest was."""
        return read_source(self.path, root)

    def save(self, rows: Iterable[CacheRow], root: Path | str | None = None) -> None:
        """Add entries (absolute paths under ``root``, their common folder by default) to what is cached.

        Entries cached before for other files under ``root`` are kept.
        """
        rows = list(rows)
        if not rows:
            return
        base = os.path.abspath(root if root is not None else os.path.commonpath([r[0] for r in rows]))  # noqa: PTH100
        head = base.rstrip(os.sep) + os.sep
        merged = {
            path[len(head) :]: entry for path, entry in self.load(base).items() if path.startswith(head)
        }
        merged.update({r[0][len(head) :]: r[1:] for r in rows if r[0].startswith(head)})
        if merged:
            ordered = sorted(merged.items())
            self.save_source(
                base, base, [(k, *v[:3]) for k, v in ordered], [v[3] for k, v in ordered], manifest=None
            )

    def save_source(
        self,
        root: str,
        base: str,
        files: Sequence[ListedFile],
        digests: Sequence[str | None],
        manifest: str | None,
    ) -> None:
        """Record the files of the source ``root`` (logical paths under ``base``), sorted by path.

        ``digests[i]`` is None for a file not to be trusted; ``manifest`` is the digest of
        the manifest the source holds, when ``files`` is all of it and all are trusted.
        """
        record = (root, base, manifest, listing(files), orjson.dumps(list(digests)))
        with contextlib.suppress(*_ERRORS), contextlib.closing(self._connect()) as conn:
            conn.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?)", record)


def read_source(cache_path: Path | str, root: str) -> tuple[str, bytes] | None:
    """``(manifest digest, listing)`` recorded for the source ``root``, read-only; None if none."""
    path = Path(cache_path).absolute()
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)) as conn:
            row = conn.execute("SELECT manifest, listing FROM sources WHERE root = ?", (root,)).fetchone()
    except sqlite3.Error:
        return None
    return (str(row[0]), bytes(row[1])) if row and row[0] else None


def listing(files: Iterable[ListedFile]) -> bytes:
    """The canonical listing of ``(logical path, size, mtime_ns, inode)`` (sorted here)."""
    return orjson.dumps(sorted(tuple(f) for f in files))


def source_listing(files: Iterable[SourceFile]) -> bytes:
    """The listing of scanned files, as the stat cache records it."""
    return listing((f.logical, f.size, f.mtime_ns, f.inode) for f in files)
