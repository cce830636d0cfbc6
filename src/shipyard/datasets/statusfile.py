"""The status file: all a no-change ``data status`` reads, one small file per dataset.

``<home>/cache/status/<dataset name>`` is written when a source is known to hold the
latest version of a dataset (right after ``add``, or a clean full ``status``). It holds
that version (number, manifest digest, kind, source path) and, for each folder of the
source, its stats and the stats of its files:

* a folder's ``(mtime_ns, ctime_ns, inode)``: creating, deleting or renaming an entry
  changes its folder's mtime and ctime, so a folder with the same ones has the same
  entries and need not be listed again (what git's untracked cache relies on);
* a file's ``(size, mtime_ns, inode)``: a file with the same ones is taken to have the
  same content (what git and DVC assume; see :mod:`shipyard.datasets.hashing`).

So a no-change status is one ``stat`` per file and per folder and no ``readdir``, with the
standard library alone (and, for a big source, on several processes at once). A folder
modified within the racy window (:data:`RACY_WINDOW_NS`) of the scan that recorded it
could change again unseen within the same clock tick: it is marked to be listed again, and
its names compared. A file in the racy window keeps the source from getting a status file
at all (the stat cache does not trust it either).

What it cannot see, as git and DVC cannot: a file rewritten with the same size whose mtime
is then set back (``touch -d``), on the same inode. ``shipyard data add`` hashes such a
file again only when its stats differ too.

The file is :mod:`marshal` data (Python's own format for its ``.pyc`` cache: plain
tuples, lists, ints and strings, read back without running anything), headed by a format
number and the interpreter's tag. A missing, unreadable, foreign or stale file (another
version, another source, a changed stat) only means the full status runs; writing one is
best effort.
"""

# pathlib alone takes longer to import than the rest of a no-change status takes:
# ruff: noqa: PTH103, PTH105, PTH108, PTH116, PTH118, PTH119, PTH120, PTH208
from __future__ import annotations

import _thread
import marshal
import os
import stat
import sys

TYPE_CHECKING = False  # typing costs a few ms, and this runs on every `data status`
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from shipyard.datasets.snapshot import FolderStat, SourceFile

FORMAT = 2
#: A file or folder changed this recently may change again within the same clock tick unseen
#: (git's "racy clean" problem): its stats are trusted only once it is this much older.
RACY_WINDOW_NS = 100_000_000
_HEADER = (FORMAT, sys.implementation.cache_tag, marshal.version)
#: How a folder of a status file is checked.
FILE_SOURCE, TRUSTED, LISTED = 0, 1, 2
_FIELDS = 7  # header, name, version, digest, kind, source, folders
#: A source with this many files is checked by several processes (see :func:`unchanged_count`).
PARALLEL_MIN = 4096


def status_file(home: str | os.PathLike[str], name: str) -> str:
    """Where the status file of dataset ``name`` is, in the Shipyard home ``home``."""
    return os.path.join(home, "cache", "status", name)


def write_status(
    home: str | os.PathLike[str],
    head: tuple[str, int, str, str, str],
    files: Sequence[SourceFile],
    folders: Sequence[FolderStat],
    scanned_ns: int,
) -> bool:
    """Record that the source ``head = (name, version, digest, kind, source)`` holds ``files``.

    ``files`` and ``folders`` are a scan of the source begun at ``scanned_ns`` (folders
    stat'ed before they were listed, the root first); ``source`` is its absolute path. The
    caller has checked that the files hold the version and are out of the racy window.
    Returns whether the file was written (a scan that had to follow symlinks gives none).
    """
    name, _, _, kind, source = head
    plan = _folders(files, folders, scanned_ns, source) if kind == "folder" else _file_source(files, source)
    path = status_file(home, name)
    if plan is None:
        remove_status(home, name)
        return False
    data = marshal.dumps((_HEADER, *head, plan))
    tmp = f"{path}.{os.getpid()}-{_thread.get_ident()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        remove_status(home, name)
        _unlink(tmp)
        return False
    return True


def remove_status(home: str | os.PathLike[str], name: str) -> None:
    """Forget the status file of ``name`` (if any)."""
    _unlink(status_file(home, name))


def _unlink(path: str) -> None:
    try:  # noqa: SIM105  (contextlib is not loaded on the lean path)
        os.unlink(path)
    except OSError:
        pass


def _file_source(files: Sequence[SourceFile], source: str) -> list[Any] | None:
    if len(files) != 1:
        return None
    f = files[0]
    return [(source, FILE_SOURCE, None, [], os.path.basename(source), _packed([f.size, f.mtime_ns, f.inode]))]


def _packed(stats: list[int]) -> bytes:
    """``stats`` as :func:`_file_stats` will be compared with them: marshal version 2, which has no
    back-references, so equal lists of ints are equal bytes (and load as one object, not thousands)."""
    return marshal.dumps(stats, 2)


def _names(joined: str) -> list[str]:
    """The file names of a folder record: joined by ``/``, which no file name holds."""
    return joined.split("/") if joined else []


def _folders(
    files: Sequence[SourceFile], folders: Sequence[FolderStat], scanned_ns: int, source: str
) -> list[Any] | None:
    """The folders of a plain scan with their files, in scan order; None if it was not plain."""
    if not folders:
        return None
    root = folders[0].path
    by_folder: dict[str, tuple[list[str], list[int]]] = {f.path: ([], []) for f in folders}
    for file in files:  # a plain scan joins a folder's path and a file's name with os.sep
        parent, _, name = file.path.rpartition(os.sep)
        held = by_folder.get(parent)
        if held is None:  # not found by the plain scan: leave such a source to the full status
            return None
        names, stats = held
        names.append(name)
        stats += (file.size, file.mtime_ns, file.inode)
    plan = []
    for folder in folders:
        settled = min(folder.mtime_ns, folder.ctime_ns) < scanned_ns - RACY_WINDOW_NS
        names, stats = by_folder[folder.path]
        fingerprint = (folder.mtime_ns, folder.ctime_ns, folder.inode)
        path = source + folder.path[len(root) :]
        mode = TRUSTED if settled else LISTED
        plan.append((path, mode, fingerprint, list(folder.subdirs), "/".join(names), _packed(stats)))
    return plan


def read_status(home: str | os.PathLike[str], name: str) -> tuple[Any, ...] | None:
    """The record of the status file of ``name``: ``(header, name, version, digest, kind, source, folders)``.

    None if there is none, or it cannot be read, or was written by another format or Python.
    """
    try:
        with open(status_file(home, name), "rb") as f:
            record = marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if type(record) is not tuple or len(record) != _FIELDS or record[0] != _HEADER or record[1] != name:
        return None
    return record


def unchanged_count(folders: Any, workers: int = 1, parallel_min: int = PARALLEL_MIN) -> int | None:
    """The number of files of a status file's source if it is as recorded, else None.

    Checks every folder (its stats, or its names when it is to be listed) and every file
    (its stats). Any difference, missing entry or error (including a malformed record)
    is None: the full status then finds out what changed.

    With ``workers`` > 1 and at least ``parallel_min`` files, the folders are shared out
    between this process and ``workers - 1`` forked ones (see :func:`_check_in_parallel`).
    """
    try:
        count = sum(folder[4].count("/") + 1 for folder in folders if folder[4])
    except (TypeError, IndexError, AttributeError):
        return None
    if workers > 1 and count >= parallel_min and len(folders) > 1 and _can_fork():
        return count if _check_in_parallel(list(folders), workers) else None
    return count if _check(folders) else None


def _check(folders: Any, root_first: bool = True) -> bool:
    """Whether every folder and file of ``folders`` is as recorded (False on any error).

    ``root_first``: the first folder is the source itself, which may be reached through a
    symlink (as it was added); no other folder may be.
    """
    try:
        for i, (path, mode, fingerprint, subdirs, joined, stats) in enumerate(folders):
            if mode == FILE_SOURCE:
                st = os.stat(path)
                if _packed([st.st_size, st.st_mtime_ns, st.st_ino]) != stats:
                    return False
                continue
            names = _names(joined)
            fd = os.open(path, _FOLDER if i == 0 and root_first else _FOLDER | os.O_NOFOLLOW)
            try:
                if not _same_folder(os.fstat(fd), mode, fingerprint):
                    return False
                if mode != TRUSTED and sorted(os.listdir(fd)) != sorted([*subdirs, *names]):
                    return False
                if _packed(_file_stats(fd, names)) != stats:
                    return False
            finally:
                os.close(fd)
    except (OSError, ValueError, TypeError, AttributeError, NotImplementedError):  # the last two: not POSIX
        return False
    return True


def _can_fork() -> bool:
    """Whether this process may fork to check in parallel: on Linux, with no other thread running."""
    threading = sys.modules.get("threading")
    return sys.platform == "linux" and (threading is None or threading.active_count() == 1)


def _check_in_parallel(folders: Any, workers: int) -> bool:
    """:func:`_check` with the folders shared out between this process and forked ones.

    A ``stat`` costs a few microseconds, mostly in the kernel and in building its result:
    threads would take turns on the GIL, forked processes do not. Each child checks its
    share and exits at once, telling its verdict by its exit status; a share that cannot
    be forked off is checked here. This process keeps the root folder (the first).
    """
    shares: list[list[Any]] = [[folders[0]], *([] for _ in range(workers - 1))]
    loads = [len(folders[0][5])] + [0] * (workers - 1)
    for folder in sorted(folders[1:], key=lambda f: -len(f[5])):  # by the size of their stats
        k = loads.index(min(loads))
        shares[k].append(folder)
        loads[k] += len(folder[5]) + 64
    children, ok = [], True
    for share in shares[1:]:
        pid = _fork_check(share) if share else None
        if pid is None:
            ok = ok and _check(share, root_first=False)
        else:
            children.append(pid)
    ok = _check(shares[0]) and ok
    for pid in children:
        _, status = os.waitpid(pid, 0)
        ok = ok and os.waitstatus_to_exitcode(status) == 0
    return ok


def _fork_check(share: list[Any]) -> int | None:
    """The pid of a child checking ``share`` (exit status 0: as recorded); None if it cannot fork."""
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: it never returns
        ok = False
        try:
            ok = _check(share, root_first=False)
        finally:
            os._exit(0 if ok else 1)
    return pid


_FOLDER = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


def _same_folder(st: os.stat_result, mode: int, fingerprint: tuple[int, int, int]) -> bool:
    if not stat.S_ISDIR(st.st_mode):
        return False
    if mode == TRUSTED:
        return (st.st_mtime_ns, st.st_ctime_ns, st.st_ino) == fingerprint
    return mode == LISTED and st.st_ino == fingerprint[2]


def _file_stats(folder: int, names: list[str]) -> list[int]:
    """``[size, mtime_ns, inode, ...]`` of the files ``names`` in the open ``folder``, in order.

    The hot loop of a no-change status: one ``fstatat`` per file, relative to its folder
    (a shorter path walk than from the root).
    """
    lstat = os.stat
    found: list[int] = []
    for name in names:
        st = lstat(name, dir_fd=folder, follow_symlinks=False)
        found += (st.st_size, st.st_mtime_ns, st.st_ino)
    return found
