"""The stat cache: what spares reading an unchanged file again, in one SQLite file.

``<home>/cache/statcache.sqlite`` holds two tables, both readable with the standard
``sqlite3`` module alone (so ``shipyard data status`` can answer without loading the
rest of Shipyard):

* ``folders``: one row per folder, ``entries`` the JSON object
  ``{file name: [size, mtime_ns, inode, digest]}``. A file whose size, mtime and inode
  are unchanged is taken to have unchanged content (the assumption git and DVC make;
  see :mod:`shipyard.datasets.hashing` for the racy window that keeps it sound).
* ``trees``: one row per source (the folder or file a dataset is added from): the
  digest of the manifest its content had, and its **listing**, the canonical JSON of
  ``[[logical path, size, mtime_ns, inode], ...]`` sorted by path. When a fresh scan
  of the source gives the very same listing, the source still holds that manifest, and
  no per-file lookup is needed.

Every failure to read or write the cache (a corrupt or locked file, a read-only
home) only costs a re-read: the cache is an optimisation.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import orjson

#: ``(absolute path, size, mtime_ns, inode, digest)``
CacheRow = tuple[str, int, int, int, str]
SCHEMA_VERSION = 2
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, entries BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS trees (root TEXT PRIMARY KEY, manifest TEXT NOT NULL, listing BLOB NOT NULL)",
    "DROP TABLE IF EXISTS files",  # version 1: one row per file, too slow to write for big folders
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_ERRORS = (sqlite3.Error, OSError, orjson.JSONDecodeError, TypeError, ValueError)


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

    # -- per-file entries --------------------------------------------------------------
    def load(self, root: Path | str) -> dict[str, tuple[int, int, int, str]]:
        """Every entry at or under ``root``: absolute path -> (size, mtime_ns, inode, digest)."""
        if not self.path.is_file():
            return {}
        base = os.path.abspath(root)  # noqa: PTH100  (no symlink resolution, fast)
        low = base.rstrip(os.sep) + os.sep
        high = base.rstrip(os.sep) + chr(ord(os.sep) + 1)
        try:
            with contextlib.closing(self._connect()) as conn:
                rows = conn.execute(
                    "SELECT path, entries FROM folders "
                    "WHERE path = ? OR path = ? OR (path >= ? AND path < ?)",
                    (base, base.rpartition(os.sep)[0], low, high),
                ).fetchall()
            found: dict[str, tuple[int, int, int, str]] = {}
            for folder, blob in rows:
                for name, (size, mtime_ns, inode, digest) in orjson.loads(blob).items():
                    path = folder + os.sep + name
                    if path == base or path.startswith(low):
                        found[path] = (size, mtime_ns, inode, digest)
            return found
        except _ERRORS:
            return {}

    def save(self, rows: Iterable[CacheRow], tree: tuple[str, str, bytes] | None = None) -> None:
        """Write entries (replacing older ones for the same paths), and a source's ``tree``.

        ``tree`` is ``(root, manifest digest, listing)``, as for :meth:`save_tree`; all is
        written in one transaction.
        """
        by_folder: dict[str, dict[str, list[object]]] = {}
        for path, size, mtime_ns, inode, digest in rows:
            folder, _, name = path.rpartition(os.sep)
            by_folder.setdefault(folder, {})[name] = [size, mtime_ns, inode, digest]
        if not by_folder and tree is None:
            return
        with contextlib.suppress(*_ERRORS), contextlib.closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for folder, entries in by_folder.items():
                    old = conn.execute("SELECT entries FROM folders WHERE path = ?", (folder,)).fetchone()
                    merged = {**orjson.loads(old[0]), **entries} if old else entries
                    conn.execute(
                        "INSERT OR REPLACE INTO folders VALUES (?, ?)", (folder, orjson.dumps(merged))
                    )
                if tree is not None:
                    conn.execute("INSERT OR REPLACE INTO trees VALUES (?, ?, ?)", tree)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- whole sources -----------------------------------------------------------------
    def load_tree(self, root: str) -> tuple[str, bytes] | None:
        """``(manifest digest, listing)`` recorded for the source ``root``, if any."""
        return read_tree(self.path, root)

    def save_tree(self, root: str, manifest: str, listing: bytes) -> None:
        """Record that the source ``root`` had the content ``manifest`` when it had ``listing``."""
        self.save((), (root, manifest, listing))


def read_tree(cache_path: Path | str, root: str) -> tuple[str, bytes] | None:
    """``(manifest digest, listing)`` of ``root`` from the cache file, read-only; None if absent."""
    path = Path(cache_path).absolute()
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)) as conn:
            row = conn.execute("SELECT manifest, listing FROM trees WHERE root = ?", (root,)).fetchone()
    except sqlite3.Error:
        return None
    return (str(row[0]), bytes(row[1])) if row else None


def listing(files: Iterable[tuple[str, int, int, int]]) -> bytes:
    """The canonical listing of ``(logical path, size, mtime_ns, inode)`` (sorted here)."""
    return orjson.dumps(sorted(tuple(f) for f in files))
