"""Hash many files fast, and never read an unchanged file twice.

Small files are hashed on a thread pool (BLAKE3 releases the GIL while it hashes);
big ones one after the other, each on all cores by BLAKE3's own threads (see
:func:`shipyard.storage.digests.digest_file`).

The **stat cache** (``<home>/cache/statcache.sqlite``, one SQLite table) maps an
absolute path to ``(size, mtime_ns, inode) -> digest``. A file whose size, mtime
and inode are unchanged is taken to have unchanged content and is not read again:
the same assumption git and DVC make. It fails only if a file is rewritten with
the same size within one tick of the file system clock *after* it was hashed; to
close that window (git's "racy clean" problem), an entry is stored only when the
file's mtime is at least :data:`RACY_WINDOW_NS` older than the moment hashing
started, so a file still being written is simply hashed again next time. On file
systems with coarse timestamps (FAT: 2 s) the window is not enough; the cache is
then an optimisation to switch off (``StatCache`` is optional everywhere).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.storage.digests import MMAP_THRESHOLD, digest_file

#: An entry is cached only if the file was last modified this long before hashing began.
RACY_WINDOW_NS = 100_000_000
WORKERS = min(32, (os.cpu_count() or 1) * 4)

# (absolute path, size, mtime_ns, inode, digest)
CacheRow = tuple[str, int, int, int, str]
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, digest TEXT NOT NULL)"
)


class StatCache:
    """The stat cache in one SQLite file; every failure to use it only costs a re-read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        return conn

    def load(self, root: Path) -> dict[str, tuple[int, int, int, str]]:
        """Every entry at or under ``root``, in one query: path -> (size, mtime_ns, inode, digest)."""
        base = os.path.abspath(root)  # noqa: PTH100  (no symlink resolution, fast)
        low, high = base.rstrip(os.sep) + os.sep, base.rstrip(os.sep) + chr(ord(os.sep) + 1)
        try:
            with contextlib.closing(self._connect()) as conn:
                rows = conn.execute(
                    "SELECT path, size, mtime_ns, inode, digest FROM files "
                    "WHERE path = ? OR (path >= ? AND path < ?)",
                    (base, low, high),
                ).fetchall()
        except (sqlite3.Error, OSError):
            return {}
        return {path: (size, mtime, inode, digest) for path, size, mtime, inode, digest in rows}

    def save(self, rows: Iterable[CacheRow]) -> None:
        """Write entries in one transaction (replacing older ones for the same paths)."""
        batch = list(rows)
        if not batch:
            return
        with contextlib.suppress(sqlite3.Error, OSError), contextlib.closing(self._connect()) as conn, conn:
            conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", batch)


@dataclass(frozen=True)
class HashResult:
    """Digests and sizes in the order of the paths given; how many files were read or cached."""

    digests: list[str]
    sizes: list[int]
    hashed: int
    cached: int


def file_digest(path: Path) -> str:
    """The digest of one file; a file that cannot be read is an InvalidInputError naming it."""
    try:
        return digest_file(path)
    except NotFoundError as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: it disappeared while being read") from exc
    except OSError as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc


def hash_files(
    paths: Sequence[Path],
    *,
    cache: StatCache | None = None,
    root: Path | None = None,
    on_file: Callable[[int], None] | None = None,
) -> HashResult:
    """Digest every file of ``paths``; with a ``cache``, unchanged files under ``root`` are not read.

    ``on_file(size)`` is called once per file (cached ones first), from the calling thread.
    """
    started = time.time_ns()
    stats = [_stat(p) for p in paths]
    keys = [os.path.abspath(p) for p in paths]  # noqa: PTH100
    known = cache.load(root if root is not None else Path(os.path.commonpath(keys))) if cache and keys else {}
    digests: list[str | None] = []
    for key, st in zip(keys, stats, strict=True):
        hit = known.get(key)
        same = hit is not None and hit[:3] == (st.st_size, st.st_mtime_ns, st.st_ino)
        digests.append(hit[3] if same and hit is not None else None)
    todo = [i for i, d in enumerate(digests) if d is None]
    _hash_missing([paths[i] for i in todo], todo, digests, stats, on_file)
    if cache is not None:
        cache.save(_fresh_rows(todo, keys, stats, digests, started))
    done = [d for d in digests if d is not None]
    assert len(done) == len(digests)
    return HashResult(done, [st.st_size for st in stats], hashed=len(todo), cached=len(paths) - len(todo))


def _hash_missing(
    files: list[Path],
    indexes: list[int],
    digests: list[str | None],
    stats: list[os.stat_result],
    on_file: Callable[[int], None] | None,
) -> None:
    """Fill ``digests[i]`` for each index: small files on the pool, big ones on all cores each."""
    if on_file is not None:
        for i, d in enumerate(digests):
            if d is not None:
                on_file(stats[i].st_size)
    small = [(f, i) for f, i in zip(files, indexes, strict=True) if stats[i].st_size < MMAP_THRESHOLD]
    big = [(f, i) for f, i in zip(files, indexes, strict=True) if stats[i].st_size >= MMAP_THRESHOLD]
    if small:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(small))) as pool:
            for (_, i), digest in zip(small, pool.map(file_digest, [f for f, _ in small]), strict=True):
                digests[i] = digest
                if on_file is not None:
                    on_file(stats[i].st_size)
    for file, i in big:
        digests[i] = file_digest(file)
        if on_file is not None:
            on_file(stats[i].st_size)


def _fresh_rows(
    todo: list[int], keys: list[str], stats: list[os.stat_result], digests: list[str | None], started: int
) -> list[CacheRow]:
    """Cache rows for the files just hashed whose mtime is safely older than the hashing."""
    rows: list[CacheRow] = []
    for i in todo:
        st, digest = stats[i], digests[i]
        if digest is not None and st.st_mtime_ns < started - RACY_WINDOW_NS:
            rows.append((keys[i], st.st_size, st.st_mtime_ns, st.st_ino, digest))
    return rows
