"""Hash many files fast, and never read an unchanged file twice.

Small files are hashed by a few threads, each looping over its share of the files
(no task per file: with thousands of small files the scheduling would cost more than
the hashing); big ones one after the other, each on all cores by BLAKE3's own
threads (see :func:`shipyard.storage.digests.digest_file`).

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
from typing import TypeVar

from blake3 import blake3

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.storage.digests import MMAP_THRESHOLD, PREFIX, digest_file

#: An entry is cached only if the file was last modified this long before hashing began.
RACY_WINDOW_NS = 100_000_000
#: Threads for many small files: their work is mostly system calls, so a few are enough.
WORKERS = max(2, min(4, os.cpu_count() or 1))

T = TypeVar("T")
Fingerprint = tuple[int, int, int]  # (size, mtime_ns, inode)


def run_chunked(items: Sequence[T], work: Callable[[T], None], workers: int = WORKERS) -> None:
    """Call ``work`` on every item: a few threads, each looping over a strided share of ``items``."""
    n = max(1, min(workers, len(items) // 64 or 1))
    if n == 1:
        for item in items:
            work(item)
        return

    def loop(share: Sequence[T]) -> None:
        for item in share:
            work(item)

    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(loop, items[i::n]) for i in range(n)]:
            future.result()


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


def read_digest(path: Path | str) -> str:
    """The digest of one file: a small one in one read, a big one on all cores (OSError as raised)."""
    with open(path, "rb", buffering=0) as f:
        if os.fstat(f.fileno()).st_size < MMAP_THRESHOLD:
            return PREFIX + blake3(f.readall()).hexdigest()
    return digest_file(path)


def file_digest(path: Path | str) -> str:
    """The digest of one file; a file that cannot be read is an InvalidInputError naming it."""
    try:
        return read_digest(path)
    except IsADirectoryError as exc:
        raise InvalidInputError(f"cannot hash {str(path)!r}: it is a folder, not a file") from exc
    except (NotFoundError, FileNotFoundError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: it disappeared while being read") from exc
    except OSError as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc


def _fingerprint(path: Path | str) -> Fingerprint:
    try:
        st = os.stat(path)  # noqa: PTH116  (str or Path)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _absolute(paths: Sequence[Path | str], root: Path | None) -> list[str]:
    """Absolute paths (the cache's keys); a str path already under a normalised root is kept as is."""
    base = os.path.abspath(root) if root is not None else None  # noqa: PTH100
    under = base + os.sep if base is not None and base == str(root) else None
    return [
        p
        if under is not None
        and isinstance(p, str)
        and p.startswith(under)
        and "/." not in p
        and "//" not in p
        else os.path.abspath(p)  # noqa: PTH100
        for p in paths
    ]


def hash_files(
    paths: Sequence[Path | str],
    *,
    cache: StatCache | None = None,
    root: Path | None = None,
    on_file: Callable[[int], None] | None = None,
    stats: Sequence[Fingerprint] | None = None,
) -> HashResult:
    """Digest every file of ``paths``; with a ``cache``, unchanged files under ``root`` are not read.

    ``stats`` are the files' ``(size, mtime_ns, inode)`` when the caller has them (else
    each file is stat'ed here). ``on_file(size)`` is called once per file (cached ones
    first), from the calling thread.
    """
    started = time.time_ns()
    prints = list(stats) if stats is not None else [_fingerprint(p) for p in paths]
    keys = _absolute(paths, root)
    known = cache.load(root if root is not None else Path(os.path.commonpath(keys))) if cache and keys else {}
    digests: list[str | None] = []
    for key, fp in zip(keys, prints, strict=True):
        hit = known.get(key)
        digests.append(hit[3] if hit is not None and hit[:3] == fp else None)
    todo = [i for i, d in enumerate(digests) if d is None]
    _hash_missing(paths, todo, digests, prints, on_file)
    if cache is not None:
        cache.save(_fresh_rows(todo, keys, prints, digests, started))
    done = [d for d in digests if d is not None]
    assert len(done) == len(digests)
    return HashResult(done, [fp[0] for fp in prints], hashed=len(todo), cached=len(paths) - len(todo))


def _hash_missing(
    paths: Sequence[Path | str],
    todo: list[int],
    digests: list[str | None],
    prints: list[Fingerprint],
    on_file: Callable[[int], None] | None,
) -> None:
    """Fill ``digests[i]`` for each index of ``todo``: small files on a few threads, big ones on all cores."""
    if on_file is not None:
        for i, d in enumerate(digests):
            if d is not None:
                on_file(prints[i][0])
    small = [i for i in todo if prints[i][0] < MMAP_THRESHOLD]
    big = [i for i in todo if prints[i][0] >= MMAP_THRESHOLD]

    def one(i: int) -> None:
        digests[i] = file_digest(paths[i])

    run_chunked(small, one)
    if on_file is not None:
        for i in small:
            on_file(prints[i][0])
    for i in big:
        one(i)
        if on_file is not None:
            on_file(prints[i][0])


def _fresh_rows(
    todo: list[int], keys: list[str], prints: list[Fingerprint], digests: list[str | None], started: int
) -> list[CacheRow]:
    """Cache rows for the files just hashed whose mtime is safely older than the hashing."""
    rows: list[CacheRow] = []
    for i in todo:
        (size, mtime_ns, inode), digest = prints[i], digests[i]
        if digest is not None and mtime_ns < started - RACY_WINDOW_NS:
            rows.append((keys[i], size, mtime_ns, inode, digest))
    return rows
