"""Hash many files fast, and never read an unchanged file twice.

Small files are hashed by a few threads, each looping over its share of the files
(no task per file: with thousands of small files the scheduling would cost more than
the hashing); big ones one after the other, each on all cores by BLAKE3's own
threads (see :func:`shipyard.storage.digests.digest_file`).

The **stat cache** (:mod:`shipyard.datasets.statcache`) maps an absolute path to
``(size, mtime_ns, inode) -> digest``. A file whose size, mtime
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

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from blake3 import blake3

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.datasets.statcache import CacheRow, StatCache
from shipyard.datasets.statusfile import RACY_WINDOW_NS  # an entry is cached only once this old
from shipyard.storage.digests import MMAP_THRESHOLD, PREFIX, digest_file

__all__ = [
    "RACY_WINDOW_NS",
    "HashResult",
    "StatCache",
    "file_content",
    "file_digest",
    "hash_files",
    "is_settled",
    "read_digest",
    "run_chunked",
]

#: At most this many bytes of small files are kept in memory between hashing and storing.
KEEP_BUDGET = 256 * 1024 * 1024
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

    from concurrent.futures import ThreadPoolExecutor  # not needed by every command

    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(loop, items[i::n]) for i in range(n)]:
            future.result()


@dataclass(frozen=True)
class HashResult:
    """Digests and sizes in the order of the paths given; how many files were read or cached.

    ``contents`` maps the index of a small file that was read to its bytes, when the
    caller asked to keep them (``keep_below``); ``started_ns`` is when hashing began;
    ``fresh`` are the stat cache entries of the files just read.
    """

    digests: list[str]
    sizes: list[int]
    hashed: int
    cached: int
    contents: dict[int, bytes] = field(default_factory=dict)
    started_ns: int = 0
    fresh: list[CacheRow] = field(default_factory=list)


def read_small(path: Path | str, size_hint: int = 0) -> bytes:
    """The whole content of a file, in one read when ``size_hint`` is right (OSError as raised)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size_hint + 1)
        if len(data) <= size_hint:
            return data
        parts = [data]
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def read_digest(path: Path | str) -> str:
    """The digest of one file: a small one in one read, a big one on all cores (OSError as raised)."""
    with open(path, "rb", buffering=0) as f:
        if os.fstat(f.fileno()).st_size < MMAP_THRESHOLD:
            return PREFIX + blake3(f.readall()).hexdigest()
    return digest_file(path)


def reading_error(path: Path | str, exc: OSError | NotFoundError) -> InvalidInputError:
    """The InvalidInputError naming ``path`` for an error met reading it."""
    if isinstance(exc, IsADirectoryError):
        return InvalidInputError(f"cannot hash {str(path)!r}: it is a folder, not a file")
    if isinstance(exc, NotFoundError | FileNotFoundError):
        return InvalidInputError(f"cannot read {str(path)!r}: it disappeared while being read")
    return InvalidInputError(f"cannot read {str(path)!r}: {exc.strerror or exc}")


def file_digest(path: Path | str) -> str:
    """The digest of one file; a file that cannot be read is an InvalidInputError naming it."""
    try:
        return read_digest(path)
    except (OSError, NotFoundError) as exc:
        raise reading_error(path, exc) from exc


def file_content(path: Path | str, size_hint: int = 0) -> bytes:
    """The content of one (small) file; a file that cannot be read is an InvalidInputError naming it."""
    try:
        return read_small(path, size_hint)
    except OSError as exc:
        raise reading_error(path, exc) from exc


def _fingerprint(path: Path | str) -> Fingerprint:
    try:
        st = os.stat(path)  # noqa: PTH116  (str or Path)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _absolute(paths: Sequence[Path | str], root: Path | None) -> list[str]:
    """Absolute paths (the cache's keys); a plain str path under ``root`` is joined, not normalised."""
    if root is None:
        return [os.path.abspath(p) for p in paths]  # noqa: PTH100
    base = os.path.abspath(root)  # noqa: PTH100
    head = str(root).rstrip(os.sep) + os.sep
    return [
        base.rstrip(os.sep) + os.sep + p[len(head) :]
        if isinstance(p, str) and p.startswith(head) and "/." not in p[len(head) - 1 :] and "//" not in p
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
    keep_below: int = 0,
    keep_budget: int = KEEP_BUDGET,
    on_start: Callable[[list[int]], None] | None = None,
    save: bool = True,
) -> HashResult:
    """Digest every file of ``paths``; with a ``cache``, unchanged files under ``root`` are not read.

    ``stats`` are the files' ``(size, mtime_ns, inode)`` when the caller has them (else
    each file is stat'ed here). ``on_file(size)`` is called once per file (cached ones
    first), from the calling thread. The bytes of files under ``keep_below`` bytes that
    are read are kept in the result (up to ``keep_budget`` bytes in all), so a caller
    that stores them next need not read them again. ``on_start`` is called with the
    indexes of the files about to be read, before any is. With ``save=False`` the new
    cache entries are not written but returned (``fresh``), for the caller to save.
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
    sizes = [fp[0] for fp in prints]
    if on_start is not None:
        on_start(todo)
    contents = _hash_missing(
        paths, todo, digests, sizes, on_file, _to_keep(todo, sizes, keep_below, keep_budget)
    )
    fresh = _fresh_rows(todo, keys, prints, digests, sizes, started)
    if cache is not None and save:
        cache.save(fresh, root)
    done = [d for d in digests if d is not None]
    assert len(done) == len(digests)
    return HashResult(done, sizes, len(todo), len(paths) - len(todo), contents, started, fresh)


def _to_keep(todo: list[int], sizes: list[int], below: int, budget: int) -> set[int]:
    keep = set()
    for i in todo:
        if sizes[i] < below and sizes[i] <= budget:
            keep.add(i)
            budget -= sizes[i]
    return keep


def _hash_missing(
    paths: Sequence[Path | str],
    todo: list[int],
    digests: list[str | None],
    sizes: list[int],
    on_file: Callable[[int], None] | None,
    keep: set[int],
) -> dict[int, bytes]:
    """Fill ``digests[i]`` (and ``sizes[i]``, the size read) for each index of ``todo``.

    Small files are read whole on a few threads, big ones hashed one after the other on
    all cores; the bytes of the files in ``keep`` are returned.
    """
    if on_file is not None:
        for i, d in enumerate(digests):
            if d is not None:
                on_file(sizes[i])
    small = [i for i in todo if sizes[i] < MMAP_THRESHOLD]
    big = [i for i in todo if sizes[i] >= MMAP_THRESHOLD]
    contents: dict[int, bytes] = {}

    def read(i: int) -> None:
        try:
            data = read_small(paths[i], sizes[i])
        except OSError as exc:
            raise reading_error(paths[i], exc) from exc
        digests[i], sizes[i] = PREFIX + blake3(data).hexdigest(), len(data)
        if i in keep:
            contents[i] = data

    run_chunked(small, read)
    if on_file is not None:
        for i in small:
            on_file(sizes[i])
    for i in big:
        digests[i] = file_digest(paths[i])
        if on_file is not None:
            on_file(sizes[i])
    return contents


def _fresh_rows(
    todo: list[int],
    keys: list[str],
    prints: list[Fingerprint],
    digests: list[str | None],
    sizes: list[int],
    started: int,
) -> list[CacheRow]:
    """Cache rows for the files just hashed whose mtime is safely older than the hashing.

    A file whose size read is not its size as stat'ed changed meanwhile: it is not cached.
    """
    rows: list[CacheRow] = []
    for i in todo:
        (size, mtime_ns, inode), digest = prints[i], digests[i]
        if digest is not None and sizes[i] == size and is_settled(mtime_ns, started):
            rows.append((keys[i], size, mtime_ns, inode, digest))
    return rows


def is_settled(mtime_ns: int, started_ns: int) -> bool:
    """Whether a file last modified at ``mtime_ns`` is out of the racy window of a hashing begun then."""
    return mtime_ns < started_ns - RACY_WINDOW_NS
