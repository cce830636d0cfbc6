"""The one seam every blob backend implements: a narrow key -> bytes store.

Keys are relative POSIX paths (checked by :func:`check_key`). The public methods
here validate their arguments and handle the parts common to every backend (such
as writing a downloaded file atomically); a backend implements the ``_``-prefixed
primitives and translates its driver errors:

* a missing key raises :class:`~shipyard.core.errors.NotFoundError`;
* a driver, disk or network failure raises
  :class:`~shipyard.core.errors.BackendUnavailable` (``raise ... from exc``).

Writes are atomic: after a failed ``put_*`` the key holds its previous content or
does not exist, never a partial blob. ``put_file(..., unchanged=(size, mtime_ns, inode))``
also refuses (:class:`~shipyard.core.errors.ConflictError`) a file that changed since the
caller last looked at it, before or during the copy, and then leaves no blob under the key.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from shipyard.core.errors import BackendUnavailable, ConflictError, InvalidInputError, NotFoundError
from shipyard.storage.paths import MAX_PATH_LENGTH, check_artifact_path

#: Suffix of in-flight temporary files; no key may end with it.
TEMP_SUFFIX = ".shipyard-tmp"

#: ``(size, mtime_ns, inode)`` of a local file: what tells that it did not change.
Fingerprint = tuple[int, int, int]

# Keys that check_artifact_path accepts unchanged, recognised without its per-character checks:
# segments of safe characters, none empty or starting with "." (so no "." or ".." segment).
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


def fingerprint(st: os.stat_result) -> Fingerprint:
    """The fingerprint of a file from its ``stat``."""
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def check_unchanged(local_path: Path | str, expected: Fingerprint, st: os.stat_result | None = None) -> None:
    """Raise ConflictError if the file's fingerprint (``st``, else a fresh stat) is not ``expected``."""
    try:
        actual = fingerprint(st if st is not None else os.stat(local_path))  # noqa: PTH116  (str or Path)
    except FileNotFoundError:
        actual = None
    if actual != expected:
        raise ConflictError(f"{str(local_path)!r} changed while it was being added; add it again")


def check_key(key: str) -> str:
    """Return ``key`` if it is a normalised relative POSIX path, else raise InvalidInputError.

    >>> check_key("cas/ab/cdef")
    'cas/ab/cdef'
    >>> check_key("a//b")
    Traceback (most recent call last):
    ...
    shipyard.core.errors.InvalidInputError: blob key 'a//b' is not normalised; use 'a/b'
    """
    if len(key) <= MAX_PATH_LENGTH and _PLAIN_KEY.fullmatch(key) and not key.endswith(TEMP_SUFFIX):
        return key
    normalised = check_artifact_path(key)
    if normalised != key:
        raise InvalidInputError(f"blob key {key!r} is not normalised; use {normalised!r}")
    if key.endswith(TEMP_SUFFIX):
        raise InvalidInputError(f"blob key {key!r} ends with the reserved suffix {TEMP_SUFFIX!r}")
    return key


_PLAIN_KEY_LINES = re.compile(rf"(?:{_PLAIN_KEY.pattern}\n)*")


def check_keys(keys: Iterable[str]) -> list[str]:
    """:func:`check_key` of many keys at once (one scan when all are plain, as generated keys are)."""
    keys = list(keys)
    try:
        lines = "\n".join(keys) + "\n" if keys else ""
        # as many lines as keys: a key holding a newline would pass as two plain ones
        plain = lines.count("\n") == len(keys) and _PLAIN_KEY_LINES.fullmatch(lines) is not None
    except TypeError:  # not all strings
        plain = False
    if (
        plain
        and max(map(len, keys), default=0) <= MAX_PATH_LENGTH
        and not any(key.endswith(TEMP_SUFFIX) for key in keys)
    ):
        return keys
    return [check_key(key) for key in keys]


def temp_sibling(path: Path) -> Path:
    """A fresh temporary name in the folder of ``path`` (so a rename onto ``path`` is atomic)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")


class StagedFile:
    """A local file on its way into a blob store before its key is known: ``commit(key)`` or ``discard()``.

    This default copies nothing before ``commit``, which uploads with ``put_file`` (the
    file must still have the fingerprint ``unchanged``). A backend that can copy ahead (a
    local folder) returns a subclass that copies in the background meanwhile.
    """

    def __init__(self, store: BlobStore, local_path: Path, unchanged: Fingerprint) -> None:
        self.store = store
        self.local_path = Path(local_path)
        self.unchanged = unchanged

    def commit(self, key: str) -> None:
        """Store the file under ``key`` (ConflictError if it changed since its fingerprint was taken)."""
        self.store.put_file(key, self.local_path, unchanged=self.unchanged)

    def discard(self) -> None:
        """Drop what was copied (nothing here); safe to call again, and after ``commit``."""


class BlobStore(ABC):
    """A key -> bytes store; see the module docstring for the error and atomicity rules."""

    @classmethod
    @abstractmethod
    def from_uri(cls, uri: str, *, endpoint_url: str | None = None) -> BlobStore:
        """Open the store named by ``uri`` (used by :func:`shipyard.storage.open_blob_store`)."""

    @property
    @abstractmethod
    def uri(self) -> str:
        """The URI that reopens this store."""

    def put_file(self, key: str, local_path: Path, *, unchanged: Fingerprint | None = None) -> None:
        """Store the content of the local file ``local_path`` under ``key``, atomically.

        With ``unchanged``, the file must still have that fingerprint before and after the
        copy, else ConflictError and nothing is left under ``key``.
        """
        local_path = Path(local_path)
        if unchanged is None:
            if not local_path.is_file():
                raise InvalidInputError(f"cannot upload {str(local_path)!r}: not an existing regular file")
            self._put_file(check_key(key), local_path)
        else:
            self._put_file_unchanged(check_key(key), local_path, unchanged)

    def stage_file(self, local_path: Path, unchanged: Fingerprint) -> StagedFile:
        """Start storing a local file whose key is not known yet (say, while it is being hashed).

        Finish with ``commit(key)``, or ``discard()``: see :class:`StagedFile`.
        """
        return StagedFile(self, local_path, unchanged)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, atomically."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidInputError(f"put_bytes expects bytes, got {type(data).__name__}")
        self._put_bytes(check_key(key), bytes(data))

    def put_parts(self, key: str, parts: Sequence[bytes]) -> None:
        """Store the concatenation of ``parts`` under ``key``, atomically (unjoined, where a backend can)."""
        self._put_bytes(check_key(key), b"".join(parts))

    def get_bytes(self, key: str) -> bytes:
        """The content stored under ``key``."""
        return self._get_bytes(check_key(key))

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes of the blob under ``key`` from ``offset`` (fewer where the blob ends)."""
        if offset < 0 or length < 0:
            raise InvalidInputError(f"invalid byte range: offset {offset}, length {length}")
        return self._get_range(check_key(key), offset, length)

    def get_file(self, key: str, dest: Path) -> None:
        """Write the content under ``key`` to ``dest``: via a temporary file, so ``dest`` is never partial."""
        key = check_key(key)
        dest = Path(dest)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailable(f"cannot create folder {str(dest.parent)!r}: {exc}") from exc
        tmp = temp_sibling(dest)
        try:
            self._get_file(key, tmp)
            tmp.replace(dest)
        except OSError as exc:
            raise BackendUnavailable(f"cannot write {str(dest)!r}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        return self._exists(check_key(key))

    def delete(self, key: str) -> None:
        """Remove the blob under ``key``; NotFoundError if there is none."""
        self._delete(check_key(key))

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """The keys starting with the string ``prefix`` (not only at a ``/``), in no set order."""
        if prefix and check_artifact_path(prefix) != prefix.rstrip("/"):
            raise InvalidInputError(f"key prefix {prefix!r} is not normalised")
        return self._list_keys(prefix)

    def size(self, key: str) -> int:
        """The size in bytes of the blob under ``key``."""
        return self._size(check_key(key))

    def find_size(self, key: str) -> int | None:
        """The size in bytes of the blob under ``key``, or None if there is none."""
        try:
            return self._size(check_key(key))
        except NotFoundError:
            return None

    def find_sizes(self, keys: Iterable[str]) -> dict[str, int]:
        """The sizes of those of ``keys`` that are stored: one call for many keys."""
        found = {}
        for key in keys:
            size = self.find_size(key)
            if size is not None:
                found[key] = size
        return found

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"

    # -- what a backend implements; keys are already checked -------------------------

    @abstractmethod
    def _put_file(self, key: str, local_path: Path) -> None: ...

    def _put_file_unchanged(self, key: str, local_path: Path, expected: Fingerprint) -> None:
        """Upload, checking the fingerprint before and after; a backend may check before its commit."""
        check_unchanged(local_path, expected)
        self._put_file(key, local_path)
        try:
            check_unchanged(local_path, expected)
        except ConflictError:
            with contextlib.suppress(NotFoundError, BackendUnavailable):
                self._delete(key)
            raise

    @abstractmethod
    def _put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def _get_bytes(self, key: str) -> bytes: ...

    def _get_range(self, key: str, offset: int, length: int) -> bytes:
        """A backend that can read part of a blob overrides this (the default reads it all)."""
        return self._get_bytes(key)[offset : offset + length]

    @abstractmethod
    def _get_file(self, key: str, dest: Path) -> None:
        """Download to ``dest`` (a fresh temporary path the caller renames)."""

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _delete(self, key: str) -> None: ...

    @abstractmethod
    def _list_keys(self, prefix: str) -> Iterator[str]: ...

    @abstractmethod
    def _size(self, key: str) -> int: ...
