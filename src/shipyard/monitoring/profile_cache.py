"""Reference profiles kept in the content store, found again by the reference's digest.

A profile is stored as content (its ``.npz`` bytes, verified on every read) and a
small pointer file ``<root>/<sha256 of key>`` holds the digest of the profile built
for a key: the dataset version's digest plus the profile's options. The pointer is
a cache: when it is missing, unreadable or points at content that is gone, the
profile is simply built again.

>>> import tempfile
>>> from pathlib import Path
>>> from shipyard.storage.cas import ContentStore
>>> from shipyard.storage.local import LocalBlobStore
>>> from shipyard.monitoring.profiles import ReferenceProfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     cache = ProfileCache(ContentStore(LocalBlobStore(tmp)), Path(tmp) / "profiles")
...     _ = cache.put("blake3:abc:sample=1", ReferenceProfile({}, 0))
...     cache.get("blake3:abc:sample=1").n_rows, cache.get("other")
(0, None)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Protocol

from shipyard.core.errors import ShipyardError
from shipyard.monitoring.profiles import ReferenceProfile

__all__ = ["ContentLike", "ProfileCache"]


class ContentLike(Protocol):
    """What the cache needs of a content store (local or remote)."""

    def put_bytes(self, data: bytes) -> str: ...

    def get_bytes(self, digest: str) -> bytes: ...


class ProfileCache:
    """Profiles by key: content in ``content``, pointers under ``root``."""

    def __init__(self, content: ContentLike, root: Path) -> None:
        self.content = content
        self.root = Path(root)

    def _pointer(self, key: str) -> Path:
        return self.root / hashlib.sha256(key.encode()).hexdigest()

    def get(self, key: str) -> ReferenceProfile | None:
        """The profile stored for ``key``, or None."""
        try:
            digest = self._pointer(key).read_text().strip()
            return ReferenceProfile.from_bytes(self.content.get_bytes(digest))
        except (OSError, ShipyardError):
            return None

    def put(self, key: str, profile: ReferenceProfile) -> str:
        """Store ``profile`` for ``key``; returns its content digest."""
        digest = self.content.put_bytes(profile.to_bytes())
        pointer = self._pointer(key)
        with contextlib.suppress(OSError):  # a read-only home only costs a rebuild next time
            pointer.parent.mkdir(parents=True, exist_ok=True)
            tmp = pointer.with_name(f"{pointer.name}.{os.getpid()}.tmp")
            tmp.write_text(digest)
            tmp.replace(pointer)
        return digest
