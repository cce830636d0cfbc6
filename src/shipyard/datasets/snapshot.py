"""What a snapshot is made of: the files of a source and the canonical manifest.

The manifest is the list of ``[path, digest, size]`` sorted by path; its digest (BLAKE3
of its canonical JSON) names the content of a version, so equal content means equal
digest whatever the folder it was added from.

>>> from shipyard.datasets.models import FileEntry
>>> manifest_digest([FileEntry("a.txt", "blake3:" + "0" * 64, 1)])[:15]
'blake3:d77e5cb8'
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

import orjson

from shipyard.core.errors import InvalidInputError
from shipyard.datasets.models import FileEntry
from shipyard.storage.digests import digest_bytes
from shipyard.storage.paths import check_artifact_path, walk_upload


def scan_source(path: str | Path) -> tuple[str, list[tuple[Path, str]]]:
    """``("file"|"folder", [(local file, logical path), ...])`` for a file or a folder.

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
        files = walk_upload(source)
        if not files:
            raise InvalidInputError(f"cannot add {str(source)!r}: the folder is empty (it holds no files)")
        return "folder", files
    if not stat.S_ISREG(mode):
        raise InvalidInputError(f"cannot add {str(source)!r}: not a regular file (FIFO, socket or device)")
    return "file", [(source, check_artifact_path(source.name))]


def manifest_digest(entries: Sequence[FileEntry]) -> str:
    """The digest of the canonical manifest of ``entries`` (sorted by path here)."""
    rows = sorted([e.path, e.digest, e.size] for e in entries)
    return digest_bytes(orjson.dumps(rows))
