"""What a snapshot is made of: the files of a source and the canonical manifest.

The manifest is the list of ``[path, digest, size]`` sorted by path; its digest (BLAKE3
of its canonical JSON) names the content of a version, so equal content means equal
digest whatever the folder it was added from.

>>> from shipyard.datasets.models import FileEntry
>>> manifest_digest([FileEntry("a.txt", "blake3:" + "0" * 64, 1)])[:15]
'blake3:d77e5cb8'
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import orjson

from shipyard.core.errors import InvalidInputError
from shipyard.datasets.models import FileEntry
from shipyard.storage.digests import digest_bytes
from shipyard.storage.paths import MAX_PATH_LENGTH, check_artifact_path, walk_upload

# A file name check_artifact_path accepts as it is (no "." start, no "%", "\\", ":", "~", control).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.+=,@ -]*")


class SourceFile(NamedTuple):
    """One file of a source as scanned: where it is, its logical path and its stat fingerprint."""

    path: str
    logical: str
    size: int
    mtime_ns: int
    inode: int

    @property
    def fingerprint(self) -> tuple[int, int, int]:
        return (self.size, self.mtime_ns, self.inode)


class FolderStat(NamedTuple):
    """A folder of a scanned source: its path as scanned, its stats (taken before listing it), subfolders."""

    path: str
    mtime_ns: int
    ctime_ns: int
    inode: int
    subdirs: list[str]


def scan_source(path: str | Path, folders: list[FolderStat] | None = None) -> tuple[str, list[SourceFile]]:
    """``("file"|"folder", [SourceFile, ...])`` for a file or a folder, sorted by logical path.

    A missing path, an empty folder, a special file (FIFO, socket, device) or a symlink
    that is broken or leaves the folder raise :class:`InvalidInputError` naming it.
    ``folders``, when given, receives the folders of the scan (see :func:`scan_folder`).
    """
    source = Path(path)
    try:
        mode = source.stat().st_mode
    except FileNotFoundError:
        broken = " (a broken symlink)" if source.is_symlink() else ""
        raise InvalidInputError(f"cannot add {str(source)!r}: no such file or folder{broken}") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot add {str(source)!r}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        files = scan_folder(source, folders)
        if not files:
            raise InvalidInputError(f"cannot add {str(source)!r}: the folder is empty (it holds no files)")
        return "folder", files
    if not stat.S_ISREG(mode):
        raise InvalidInputError(f"cannot add {str(source)!r}: not a regular file (FIFO, socket or device)")
    st = source.stat()
    logical = check_artifact_path(source.name)
    return "file", [SourceFile(str(source), logical, st.st_size, st.st_mtime_ns, st.st_ino)]


def scan_existing(source: Path, folders: list[FolderStat] | None = None) -> list[SourceFile] | None:
    """The files of a source folder or file as ``data status`` scans them; None if it is neither."""
    if source.is_dir():
        return scan_folder(source, folders)
    if source.is_file():
        return scan_source(source)[1]
    return None


def scan_folder(root: Path, folders: list[FolderStat] | None = None) -> list[SourceFile]:
    """The files under ``root`` as :func:`~shipyard.storage.paths.walk_upload` finds them, with stats.

    One ``scandir`` per folder and one ``stat`` per file; a tree with a symlink or a
    special file is left to ``walk_upload``, which follows or refuses them. ``folders``,
    when given, receives every folder of the tree in scan order (the root first), each
    stat'ed before it was listed; it is left empty when the tree was left to ``walk_upload``.
    """
    found: list[SourceFile] = []
    if not _scan_plain(str(root), "", found, folders=folders):
        if folders is not None:
            folders.clear()
        found = []
        for file, logical in walk_upload(root):
            st = file.stat()
            found.append(SourceFile(str(file), logical, st.st_size, st.st_mtime_ns, st.st_ino))
    found.sort(key=lambda f: f.logical)
    return found


def _scan_plain(
    folder: str,
    prefix: str,
    found: list[SourceFile],
    plain: bool = True,
    folders: list[FolderStat] | None = None,
) -> bool:
    """Add the files under ``folder`` (its folders to ``folders``); False at a symlink or special file.

    ``plain`` says the folder names in ``prefix`` need no check (then only a file's own
    name is matched against :data:`_PLAIN_NAME`; anything else gets the full check).
    """
    try:
        subdirs: list[str] = []
        if folders is not None:  # stat'ed before listed: a change meanwhile shows next time
            st = os.stat(folder)  # noqa: PTH116
            folders.append(FolderStat(folder, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, subdirs))
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise InvalidInputError(f"cannot list folder {folder!r}: {exc}") from exc
    for entry in entries:
        if entry.is_symlink():
            return False
        logical = prefix + entry.name
        simple = plain and _PLAIN_NAME.fullmatch(entry.name) is not None
        if entry.is_dir(follow_symlinks=False):
            subdirs.append(entry.name)
            if not _scan_plain(entry.path, logical + "/", found, simple, folders):
                return False
        elif entry.is_file(follow_symlinks=False):
            if not (simple and len(logical) <= MAX_PATH_LENGTH):
                logical = check_artifact_path(logical)
            st = entry.stat(follow_symlinks=False)
            found.append(SourceFile(entry.path, logical, st.st_size, st.st_mtime_ns, st.st_ino))
        else:
            return False
    return True


def manifest_digest(entries: Sequence[FileEntry]) -> str:
    """The digest of the canonical manifest of ``entries`` (sorted by path here)."""
    rows = sorted([e.path, e.digest, e.size] for e in entries)
    return digest_bytes(orjson.dumps(rows))
