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

from pathlib import Path

from shipyard.core.errors import ShipyardError
from shipyard.datasets.reports import StatusReport
from shipyard.datasets.snapshot import SourceFile, scan_folder, scan_source
from shipyard.datasets.statcache import listing, read_tree
from shipyard.datasets.store.sqlite_reader import latest_versions

#: Where the stat cache lives in a Shipyard home.
STAT_CACHE = ("cache", "statcache.sqlite")


def source_listing(files: list[SourceFile]) -> bytes:
    """The listing of scanned files, as the stat cache records it."""
    return listing((f.logical, f.size, f.mtime_ns, f.inode) for f in files)


def scan_existing(source: Path) -> list[SourceFile] | None:
    """The files of a source folder or file as ``data status`` scans them; None if it is neither."""
    if source.is_dir():
        return scan_folder(source)
    if source.is_file():
        return scan_source(source)[1]
    return None


def quick_status(uri: str, home: Path, name: str | None = None) -> list[StatusReport] | None:
    """Clean status reports of ``name`` (or of every dataset), or None unless all are clean for sure."""
    heads = latest_versions(uri, name)
    if heads is None:
        return None
    cache = Path(home).joinpath(*STAT_CACHE)
    reports = []
    for head in heads:
        if not head.source_path:
            return None
        tree = read_tree(cache, head.source_path)
        if tree is None or tree[0] != head.digest:
            return None
        source = Path(head.source_path)
        try:
            files = scan_existing(source)
        except (ShipyardError, OSError):
            return None
        if files is None or source_listing(files) != tree[1]:
            return None
        reports.append(StatusReport(head.ref, str(source), [], [], [], len(files), 0))
    return reports
