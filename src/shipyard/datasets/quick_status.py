"""The no-change ``data status``, answered from the status files and nothing but the standard library.

The latest version of each dataset comes from the embedded SQLite database
(:mod:`shipyard.datasets.store.sqlite_reader`), or, while the database files keep the
stats they had when it was last read so, from ``<home>/cache/status/.heads``: the heads
read then (loading :mod:`sqlite3` and querying takes longer than the rest of a status).
When a dataset's status file (:mod:`shipyard.datasets.statusfile`) was written for that
very version and source, and every folder and file of the source still has the stats
recorded there, the source is up to date: no file is read and no folder listed.

Anything else (a change, a folder or file written within the racy window, a source that
moved, a database that is not embedded SQLite, no status file) returns None: the caller
then asks the :class:`~shipyard.datasets.service.DatasetService`, which finds out what
changed (and writes the status file again when nothing did).

The heads file trusts the database's files as the stat cache trusts a data file: their
size, mtime and inode are recorded only when both are out of the racy window, so any
later write shows in their stats.
"""

# pathlib alone takes longer to import than the rest of a no-change status takes:
# ruff: noqa: PTH100, PTH103, PTH105, PTH108, PTH116, PTH120
from __future__ import annotations

import gc
import marshal
import os
import time

from shipyard.datasets.statusfile import RACY_WINDOW_NS, read_status, status_file, unchanged_count
from shipyard.datasets.store import sqlite_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from shipyard.datasets.reports import StatusReport

#: ``(ref, source path, file count)`` of a source that is up to date.
CleanSource = tuple[str, str, int]
#: ``(name, version, digest, kind, source_path)`` of the latest version of a dataset.
Head = tuple[str, int, str, str, "str | None"]
_HEADS = ".heads"  # not a dataset name: those start with a letter or digit
_HEADS_FORMAT = 1


def quick_status(uri: str, home: str | os.PathLike[str], name: str | None = None) -> list[CleanSource] | None:
    """``(ref, source, files)`` of ``name`` (or of each dataset by name); None unless all are surely clean."""
    heads = latest_heads(uri, home, name)
    if heads is None:
        return None
    collecting = gc.isenabled()
    gc.disable()  # the records are many small objects, none of them garbage
    try:
        clean = []
        for head in heads:
            record = read_status(home, head[0])
            if record is None or record[1:6] != tuple(head):
                return None
            count = unchanged_count(record[6], workers=_cpus())
            if count is None:
                return None
            clean.append((f"{head[0]}@{head[1]}", record[5], count))
        return clean
    finally:
        if collecting:
            gc.enable()


def _cpus() -> int:
    """How many processes may check a big source at once: the CPUs this process may run on, up to 4."""
    try:
        return min(4, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return 1


def reports(clean: list[CleanSource]) -> list[StatusReport]:
    """The :class:`StatusReport` of each clean source, as the service gives them."""
    from shipyard.datasets.reports import StatusReport

    return [StatusReport(ref, source, [], [], [], count, 0) for ref, source, count in clean]


def latest_heads(uri: str, home: str | os.PathLike[str], name: str | None = None) -> list[Head] | None:
    """The latest version of ``name`` (or of every dataset), as :func:`latest_versions` gives them.

    From the heads file when the database has not changed since it was written; else
    from the database, and the heads file is written again if the database is settled.
    """
    path = sqlite_path(uri)
    if path is None:
        return None
    path = os.path.abspath(path)
    key = name or ""
    now = time.time_ns()
    stats = _database_stats(path)
    known = _read_heads(home, path, stats)
    if key in known:
        return known[key]
    from shipyard.datasets.store.sqlite_reader import latest_versions

    found = latest_versions(uri, name)
    if found is None:
        return None
    heads: list[Head] = [tuple(h) for h in found]  # type: ignore[misc]
    settled = stats is not None and all(s is None or s[1] < now - RACY_WINDOW_NS for s in stats)
    if settled and stats == _database_stats(path):  # and not written while it was read
        _write_heads(home, (path, stats, {**known, key: heads}))
    return heads


def _database_stats(path: str) -> tuple[Any, ...] | None:
    """``(size, mtime_ns, inode)`` of the database file and its WAL (None: no WAL); None if no database.

    Not the ctime: SQLite running as root chowns the WAL each time it opens it.
    """
    found: list[tuple[int, int, int] | None] = []
    for each in (path, path + "-wal"):
        try:
            st = os.stat(each)
        except FileNotFoundError:
            if each == path:
                return None
            found.append(None)
        except OSError:
            return None
        else:
            found.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(found)


def _read_heads(
    home: str | os.PathLike[str], path: str, stats: tuple[Any, ...] | None
) -> dict[str, list[Head]]:
    """What the heads file knows, if it was written for the database ``path`` as it is now."""
    if stats is None:
        return {}
    try:
        with open(status_file(home, _HEADS), "rb") as f:
            record = marshal.loads(f.read())
        header, db, recorded, heads = record
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if header != _HEADS_FORMAT or db != path or recorded != stats or type(heads) is not dict:
        return {}
    return heads


def _write_heads(home: str | os.PathLike[str], record: tuple[Any, ...]) -> None:
    target = status_file(home, _HEADS)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(marshal.dumps((_HEADS_FORMAT, *record)))
        os.replace(tmp, target)
    except OSError:
        try:  # noqa: SIM105  (contextlib is not loaded on the lean path)
            os.unlink(tmp)
        except OSError:
            pass
