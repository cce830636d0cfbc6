"""The no-change ``data status``, answered from two SQLite files and one scan of the source.

The stat cache records, for each source a version was added from, the listing its files
had (path, size, mtime, inode) when they were known to hold that version's manifest (see
:mod:`shipyard.datasets.statcache`). When a fresh scan of the source gives the same
listing and the dataset's latest version is still that manifest, the source is up to date:
no file is read, and neither SQLAlchemy nor the service is loaded.

Anything else (a change, a file written within the racy window, a source that moved, a
database that is not embedded SQLite) returns None: the caller then asks the
:class:`~shipyard.datasets.service.DatasetService`, which finds out what changed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.datasets.reports import StatusReport
from shipyard.datasets.statcache import cache_file, listing, read_source
from shipyard.datasets.store.sqlite_reader import latest_versions

if TYPE_CHECKING:
    from shipyard.datasets.snapshot import SourceFile

Row = tuple[str, int, int, int]


def source_listing(files: list[SourceFile]) -> bytes:
    """The listing of scanned files, as the stat cache records it."""
    return listing((f.logical, f.size, f.mtime_ns, f.inode) for f in files)


def scan_existing(source: Path) -> list[SourceFile] | None:
    """The files of a source folder or file as ``data status`` scans them; None if it is neither."""
    from shipyard.datasets.snapshot import scan_folder, scan_source

    if source.is_dir():
        return scan_folder(source)
    if source.is_file():
        return scan_source(source)[1]
    return None


def quick_listing(source: str) -> tuple[bytes, int] | None:
    """The listing of a source as :func:`source_listing` of its scan gives, and its length; or None.

    One ``scandir`` per folder and one ``stat`` per file, and no check of names: a name
    the full scan would refuse or spell otherwise is simply not in a recorded listing, so
    the two cannot be equal. A symlink or a special file gives None (the full scan
    decides about those).
    """
    try:
        st = os.stat(source)  # noqa: PTH116
        if os.path.isdir(source):  # noqa: PTH112
            rows: list[Row] = []
            if not _scan_into(source, "", rows):
                return None
        elif os.path.isfile(source):  # noqa: PTH113
            rows = [(os.path.basename(source), st.st_size, st.st_mtime_ns, st.st_ino)]  # noqa: PTH119
        else:
            return None
    except OSError:
        return None
    return listing(rows), len(rows)


def _scan_into(folder: str, prefix: str, rows: list[Row]) -> bool:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not _scan_into(entry.path, prefix + entry.name + "/", rows):
                    return False
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                rows.append((prefix + entry.name, st.st_size, st.st_mtime_ns, st.st_ino))
            else:  # a symlink or a special file
                return False
    return True


def quick_status(uri: str, home: Path, name: str | None = None) -> list[StatusReport] | None:
    """Clean status reports of ``name`` (or of every dataset), or None unless all are clean for sure."""
    heads = latest_versions(uri, name)
    if heads is None:
        return None
    cache = cache_file(home)
    reports = []
    for head in heads:
        if not head.source_path:
            return None
        tree = read_source(cache, head.source_path)
        if tree is None or tree[0] != head.digest:
            return None
        scanned = quick_listing(head.source_path)
        if scanned is None or scanned[0] != tree[1]:
            return None
        reports.append(StatusReport(head.ref, str(Path(head.source_path)), [], [], [], scanned[1], 0))
    return reports
