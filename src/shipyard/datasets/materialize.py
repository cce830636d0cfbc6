"""Materialise the files of a version: hard links from a local blob store, else verified copies.

A hard link shares the blob's inode, so the linked file is made read-only: editing it
in place cannot corrupt the store (an editor that saves by writing a new file and
renaming it replaces the link, which is harmless). Every file is verified against
its digest before it appears at its destination.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import uuid
from collections.abc import Sequence
from pathlib import Path

from shipyard.core.errors import BackendUnavailable, ConflictError, InvalidInputError
from shipyard.datasets.hashing import file_digest, run_chunked
from shipyard.datasets.models import DatasetVersion, FileEntry
from shipyard.storage.base import temp_sibling
from shipyard.storage.cas import ContentStore
from shipyard.storage.local import LocalBlobStore
from shipyard.storage.paths import check_artifact_path

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def local_blob_path(content: ContentStore, digest: str) -> Path | None:
    """The file holding ``digest`` when the content store is a local folder, else None."""
    blobs = getattr(content, "blobs", None)
    if not isinstance(blobs, LocalBlobStore):
        return None
    return blobs.root.joinpath(*content.key_for(digest).split("/"))


def materialize(
    content: ContentStore, files: Sequence[FileEntry], dest: Path, *, force: bool = False
) -> list[Path]:
    """Write ``files`` under ``dest`` (created if missing); a non-empty ``dest`` needs ``force``."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise InvalidInputError(f"cannot check out into {str(dest)!r}: it is a file, not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ConflictError(
            f"cannot check out into {str(dest)!r}: the folder is not empty; "
            "pass force=True (--force) to overwrite the files of the version there"
        )
    targets = [dest.joinpath(*check_artifact_path(f.path).split("/")) for f in files]
    for target in {t.parent for t in targets}:
        target.mkdir(parents=True, exist_ok=True)
    run_chunked(list(zip(files, targets, strict=True)), lambda pair: place(content, *pair))
    return targets


def place(content: ContentStore, entry: FileEntry, target: Path) -> None:
    """Put one verified file at ``target``: a read-only hard link when possible, else a copy."""
    blob = local_blob_path(content, entry.digest)
    if blob is not None and blob.is_file():
        actual = file_digest(blob)
        if actual != entry.digest:
            raise BackendUnavailable(
                f"blob {str(blob)!r} is corrupt: expected {entry.digest}, got {actual}; "
                "delete it and add the data again"
            )
        if _link(blob, target):
            return
    content.get_file(entry.digest, target)


def _link(blob: Path, target: Path) -> bool:
    """Hard-link ``blob`` at ``target`` (atomically, read-only); False if the OS refuses."""
    with contextlib.suppress(OSError):
        if target.exists() and blob.samefile(target):
            return True
    tmp = temp_sibling(target)
    try:
        os.link(blob, tmp)
        tmp.chmod(READ_ONLY)
        tmp.replace(target)
        return True
    except OSError:  # another file system, no hard links there, too many links: copy instead
        return False
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def local_copy(content: ContentStore, version: DatasetVersion, cache_root: Path) -> Path:
    """A verified local copy of ``version`` under ``cache_root/<digest hex>/``, built once.

    The copy is built in a temporary folder and renamed into place, so a folder that
    exists is complete. A single-file version yields the path of its file.
    """
    final = Path(cache_root) / version.digest.partition(":")[2]
    if not final.is_dir():
        tmp = Path(cache_root) / f".tmp-{uuid.uuid4().hex}"
        try:
            materialize(content, version.files, tmp)
            tmp.rename(final)
        except OSError:
            if not final.is_dir():  # not merely lost a race with another process
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if version.kind == "file":
        return final.joinpath(*version.files[0].path.split("/"))
    return final
