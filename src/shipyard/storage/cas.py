"""The content-addressed layer: blobs named by their BLAKE3 digest, verified on read.

Identical content is stored once, under ``cas/<2 hex>/<62 hex>``. Every read
hashes what came back and raises :class:`~shipyard.core.errors.BackendUnavailable`
if it does not match, so corruption in the store is never handed on.

>>> import tempfile
>>> from shipyard.storage.local import LocalBlobStore
>>> with tempfile.TemporaryDirectory() as tmp:
...     cas = ContentStore(LocalBlobStore(tmp))
...     digest = cas.put_bytes(b"abc")
...     cas.get_bytes(digest), cas.key_for(digest)[:10], list(cas.iter_digests()) == [digest]
(b'abc', 'cas/64/37b', True)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from shipyard.core.errors import BackendUnavailable, InvalidInputError
from shipyard.storage.base import BlobStore, Fingerprint, temp_sibling
from shipyard.storage.digests import PREFIX, check_digest, digest_bytes, digest_file

_KEY_TAIL = re.compile(r"([0-9a-f]{2})/([0-9a-f]{62})")


class ContentStore:
    """Content-addressed blobs on top of any :class:`BlobStore`, keys under ``prefix``."""

    def __init__(self, blobs: BlobStore, prefix: str = "cas") -> None:
        self.blobs = blobs
        self.prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"ContentStore({self.blobs!r})"

    def key_for(self, digest: str) -> str:
        """The blob key of ``digest``: ``<prefix>/ab/cdef...``."""
        hex_ = check_digest(digest)[len(PREFIX) :]
        return f"{self.prefix}/{hex_[:2]}/{hex_[2:]}"

    def put_file(
        self, path: Path | str, digest: str | None = None, *, unchanged: Fingerprint | None = None
    ) -> tuple[str, int]:
        """Store the file at ``path`` unless its content is already there; return (digest, size).

        A caller that has just hashed the file passes its ``digest`` and the fingerprint
        ``unchanged=(size, mtime_ns, inode)`` it had then, so the file is not read twice:
        if the file no longer has that fingerprint, before or after the copy, a
        ConflictError says so and no blob is stored. (Reads verify every digest anyway.)
        A blob already stored with another size (say, truncated) is replaced.
        """
        if digest is None:
            path = Path(path)
            digest = digest_file(path)
            size = path.stat().st_size
            key = self.key_for(digest)
            if self._stored_size(key) != size:
                self.blobs.put_file(key, path)
            return digest, size
        if unchanged is None:
            raise InvalidInputError("put_file with a known digest needs the file's fingerprint (unchanged=)")
        key = self.key_for(digest)
        if self._stored_size(key) != unchanged[0]:
            self.blobs.put_file(key, Path(path), unchanged=unchanged)
        return digest, unchanged[0]

    def stored_size(self, digest: str) -> int | None:
        """The size of the content stored for ``digest``, or None if there is none (one cheap call)."""
        return self._stored_size(self.key_for(digest))

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` unless already there; return its digest."""
        digest = digest_bytes(data)
        key = self.key_for(digest)
        if self._stored_size(key) != len(data):
            self.blobs.put_bytes(key, data)
        return digest

    def _stored_size(self, key: str) -> int | None:
        return self.blobs.find_size(key)

    def get_bytes(self, digest: str) -> bytes:
        """The content of ``digest``, verified; NotFoundError if absent."""
        data = self.blobs.get_bytes(self.key_for(digest))
        self._verify(digest, digest_bytes(data))
        return data

    def get_file(self, digest: str, dest: Path) -> None:
        """Write the content of ``digest`` to ``dest``, verified before it appears there."""
        dest = Path(dest)
        tmp = temp_sibling(dest)
        try:
            self.blobs.get_file(self.key_for(digest), tmp)
            self._verify(digest, digest_file(tmp))
            tmp.replace(dest)
        except OSError as exc:
            raise BackendUnavailable(f"cannot write {str(dest)!r}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _verify(self, expected: str, actual: str) -> None:
        if actual != expected:
            raise BackendUnavailable(
                f"blob {self.key_for(expected)!r} in {self.blobs.uri} is corrupt: "
                f"expected {expected}, got {actual}; delete it and upload the content again",
                details={"expected": expected, "actual": actual},
            )

    def exists(self, digest: str) -> bool:
        """Whether content with this digest is stored."""
        return self.blobs.exists(self.key_for(digest))

    def size(self, digest: str) -> int:
        """The size in bytes of the content stored for ``digest``."""
        return self.blobs.size(self.key_for(digest))

    def delete(self, digest: str) -> None:
        """Remove the content of ``digest``; NotFoundError if absent."""
        self.blobs.delete(self.key_for(digest))

    def iter_digests(self) -> Iterator[str]:
        """The digests stored, in no set order; keys under the prefix of another shape are ignored."""
        head = f"{self.prefix}/"
        for key in self.blobs.list_keys(head):
            match = _KEY_TAIL.fullmatch(key[len(head) :])
            if match:
                yield PREFIX + match[1] + match[2]
