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


def scan_source(path: str | Path) -> tuple[str, list[SourceFile]]:
    """``("file"|"folder", [SourceFile, ...])`` for a file or a folder, sorted by logical path.

    A missing path, an empty folder, a special file (FIFO, socket, device) or a symlink
    that is broken or leaves the folder raise :class:`InvalidInputError` naming it.
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
        files = scan_folder(source)
        if not files:
            raise InvalidInputError(f"cannot add {str(source)!r}: the folder is empty (it holds no files)")
        return "folder", files
    if not stat.S_ISREG(mode):
        raise InvalidInputError(f"cannot add {str(source)!r}: not a regular file (FIFO, socket or device)")
    st = source.stat()
    logical = check_artifact_path(source.name)
    return "file", [SourceFile(str(source), logical, st.st_size, st.st_mtime_ns, st.st_ino)]


def scan_folder(root: Path) -> list[SourceFile]:
    """The files under ``root`` as :func:`~shipyard.storage.paths.walk_upload` finds them, with stats.

    One ``scandir`` per folder and one ``stat`` per file; a tree with a symlink or a
    special file is left to ``walk_upload``, which follows or refuses them.
    """
    found: list[SourceFile] = []
    if not _scan_plain(str(root), "", found):
        found = []
        for file, logical in walk_upload(root):
            st = file.stat()
            found.append(SourceFile(str(file), logical, st.st_size, st.st_mtime_ns, st.st_ino))
    found.sort(key=lambda f: f.logical)
    return found


def _scan_plain(folder: str, prefix: str, found: list[SourceFile], plain: bool = True) -> bool:
    """Add the files under ``folder``; False at the first symlink or special file.

    ``plain`` says the folder names in ``prefix`` need no check (then only a file's own
    name is matched against :data:`_PLAIN_NAME`; anything else gets the full check).
    """
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise InvalidInputError(f"cannot list folder {folder!r}: {exc}") from exc
    for entry in entries:
        if entry.is_symlink():
            return False
        logical = prefix + entry.name
        simple = plain and _PLAIN_NAME.fullmatch(entry.name) is not None
        if entry.is_dir(follow_symlinks=False):
            if not _scan_plain(entry.path, logical + "/", found, simple):
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
