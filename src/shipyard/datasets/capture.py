"""Capturing a source for ``add``: its files, their digests and its manifest.

:func:`capture` needs only the content store and the stat cache, not the dataset store,
so a caller can open the metadata database meanwhile (the CLI does, on another thread:
loading SQLAlchemy takes as long as hashing a big folder).
:meth:`~shipyard.datasets.service.DatasetService.record` then stores the contents and
records the version.

Files of :data:`STAGE_THRESHOLD` bytes and more are copied into a local content store
on a background thread while they are hashed; the copy is committed under its digest
only if the version needs it, and dropped otherwise (:meth:`Snapshot.discard`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from shipyard.datasets.hashing import HashResult, StatCache, hash_files, is_settled
from shipyard.datasets.models import FileEntry
from shipyard.datasets.snapshot import FolderStat, SourceFile, manifest_digest, scan_source
from shipyard.datasets.statcache import cache_file
from shipyard.storage.packs import PACK_THRESHOLD

if TYPE_CHECKING:
    from shipyard.storage.cas import ContentStore, StagedContent

#: Files at least this big are copied into a local store while they are hashed.
STAGE_THRESHOLD = 32 * 1024 * 1024
Files = list[SourceFile]


class Progress(Protocol):
    """Receives progress of long steps (``phase`` is ``"hash"`` or ``"upload"``, amounts in bytes)."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, phase: str, amount: int) -> None: ...


class Snapshot(NamedTuple):
    """What :func:`capture` found: the files of a source, their manifest and its digest.

    ``hashed.contents`` holds the bytes of the small files that were read (to be stored
    as they were hashed); ``staged`` the copies of big files under way, by file index.
    ``folders`` are the folders of a plain scan of a folder, begun at ``scanned_ns``
    (see :func:`~shipyard.datasets.snapshot.scan_folder`).
    """

    kind: str
    source: str
    files: Files
    entries: tuple[FileEntry, ...]
    digest: str
    hashed: HashResult
    staged: dict[int, StagedContent]
    folders: list[FolderStat]
    scanned_ns: int

    def discard(self) -> None:
        """Drop the staged copies not committed."""
        for copy in self.staged.values():
            copy.discard()


def stat_cache_for(home: Path) -> StatCache:
    """The stat cache of a Shipyard home."""
    return StatCache(cache_file(home))


def capture(
    path: str | Path,
    content: ContentStore,
    stat_cache: StatCache | None,
    progress: Progress | None = None,
) -> Snapshot:
    """Scan and hash a file or folder (unchanged files from the stat cache), staging big files."""
    folders: list[FolderStat] = []
    scanned_ns = time.time_ns()
    kind, files = scan_source(path, folders)
    staged: dict[int, StagedContent] = {}
    on_file: Callable[[int], None] | None = None
    if progress is not None:
        progress.start("hash", sum(f.size for f in files))
        on_file = lambda size: progress.advance("hash", size)  # noqa: E731
    try:
        hashed = hash_files(
            [f.path for f in files],
            cache=stat_cache,
            root=Path(path),
            on_file=on_file,
            stats=[f.fingerprint for f in files],
            keep_below=PACK_THRESHOLD,
            on_start=lambda todo: _stage(content, files, todo, staged),
            save=False,  # saved with the source's listing, by remember()
        )
    except BaseException:
        for copy in staged.values():
            copy.discard()
        raise
    entries = tuple(
        FileEntry(f.logical, digest, size)
        for f, digest, size in zip(files, hashed.digests, hashed.sizes, strict=True)
    )
    source = str(Path(path).absolute())
    digest = manifest_digest(entries)
    return Snapshot(kind, source, files, entries, digest, hashed, staged, folders, scanned_ns)


def _stage(content: ContentStore, files: Files, todo: list[int], staged: dict[int, StagedContent]) -> None:
    """Start copying the big files about to be hashed, into a content store that can take them."""
    from shipyard.storage.cas import ContentStore

    if isinstance(content, ContentStore):
        for i in todo:
            if files[i].size >= STAGE_THRESHOLD:
                staged[i] = content.stage_file(files[i].path, files[i].fingerprint)


def remember(
    stat_cache: StatCache | None,
    source: str,
    files: Files,
    hashed: HashResult,
    manifest: str | None,
    *,
    folder: bool,
) -> bool:
    """Record the files of ``source`` in the stat cache, with their digests where trusted.

    With ``manifest`` (the files are all of the source and hold it), the manifest is
    recorded too when every file is out of the racy window, so that an unchanged source
    is recognised from its listing alone (see :mod:`shipyard.datasets.statcache`).
    Returns whether the manifest was recorded.
    """
    if stat_cache is None:
        return False
    trusted = [
        digest if size == f.size and is_settled(f.mtime_ns, hashed.started_ns) else None
        for f, digest, size in zip(files, hashed.digests, hashed.sizes, strict=True)
    ]
    complete = manifest if None not in trusted else None
    base = source if folder else str(Path(source).parent)
    stat_cache.save_source(
        source, base, [(f.logical, f.size, f.mtime_ns, f.inode) for f in files], trusted, complete
    )
    return complete is not None
