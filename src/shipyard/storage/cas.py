"""The content-addressed layer: blobs named by their BLAKE3 digest, verified on read.

Identical content is stored once. ``put_file`` and ``put_bytes`` store it loose, as one
blob under ``cas/<2 hex>/<62 hex>``; many small contents written through
:meth:`ContentStore.packing` go into pack files instead (see :mod:`shipyard.storage.packs`),
which is far cheaper than a blob each. Every read finds a content wherever it is,
hashes what came back and raises :class:`~shipyard.core.errors.BackendUnavailable` if
it does not match, so corruption in the store is never handed on.

>>> import tempfile
>>> from shipyard.storage.local import LocalBlobStore
>>> with tempfile.TemporaryDirectory() as tmp:
...     cas = ContentStore(LocalBlobStore(tmp))
...     digest = cas.put_bytes(b"abc")
...     with cas.packing() as pack:
...         packed = pack.put_bytes(b"small")
...     stored = sorted(cas.iter_digests()) == sorted([digest, packed])
...     cas.get_bytes(digest), cas.get_bytes(packed), cas.key_for(digest)[:10], stored
(b'abc', b'small', 'cas/64/37b', True)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from shipyard.core.errors import BackendUnavailable, InvalidInputError, NotFoundError
from shipyard.storage.base import BlobStore, Fingerprint, StagedFile, temp_sibling
from shipyard.storage.digests import PREFIX, check_digest, check_digests, digest_bytes, digest_file
from shipyard.storage.packs import PACK_MAX_BYTES, Location, PackIndex, PackWriter, drop_from_packs

_KEY_TAIL = re.compile(r"([0-9a-f]{2})/([0-9a-f]{62})")
#: ``exists`` and ``size`` look for new packs at most this often; reads always do on a miss.
RELIST_AFTER_S = 1.0


class ContentStore:
    """Content-addressed blobs on top of any :class:`BlobStore`, keys under ``prefix``."""

    def __init__(self, blobs: BlobStore, prefix: str = "cas") -> None:
        self.blobs = blobs
        self.prefix = prefix.strip("/")
        self.packs = PackIndex(blobs, f"{self.prefix}/packs")

    def __repr__(self) -> str:
        return f"ContentStore({self.blobs!r})"

    def key_for(self, digest: str) -> str:
        """The key of ``digest`` stored loose: ``<prefix>/ab/cdef...``."""
        hex_ = check_digest(digest)[len(PREFIX) :]
        return f"{self.prefix}/{hex_[:2]}/{hex_[2:]}"

    # -- writes ----------------------------------------------------------------------
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
            if self.stored_size(digest) != size:
                self.blobs.put_file(self.key_for(digest), path)
            return digest, size
        if unchanged is None:
            raise InvalidInputError("put_file with a known digest needs the file's fingerprint (unchanged=)")
        if self.stored_size(digest) != unchanged[0]:
            self.blobs.put_file(self.key_for(digest), Path(path), unchanged=unchanged)
        return digest, unchanged[0]

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` unless already there; return its digest."""
        digest = digest_bytes(data)
        if self.stored_size(digest) != len(data):
            self.blobs.put_bytes(self.key_for(digest), data)
        return digest

    def stage_file(self, path: Path | str, unchanged: Fingerprint) -> StagedContent:
        """Start storing a (big) file before its digest is known, to overlap the copy with hashing.

        A local store copies it in the background; finish with ``commit(digest)`` once the
        file is hashed (the file must still have the fingerprint ``unchanged``), or
        ``discard()``.
        """
        return StagedContent(self, self.blobs.stage_file(Path(path), unchanged), unchanged[0])

    def packing(self, *, looked_up: bool = False, max_bytes: int = PACK_MAX_BYTES) -> PackWriter:
        """A writer that stores many small contents in packs: ``with store.packing() as pack: ...``.

        ``pack.put_bytes(data)`` returns the digest at once; the contents are written when
        the block ends (nothing is, if it raises). Meant for contents under
        :data:`~shipyard.storage.packs.PACK_THRESHOLD`; every other method finds them.
        A content already packed is skipped; one stored loose too, unless the caller has
        just looked its contents up (``looked_up=True``, after :meth:`stored_sizes`).
        """
        return PackWriter(self.packs, None if looked_up else self._loose_sizes, max_bytes)

    def _loose_sizes(self, hexes: list[str]) -> dict[str, int]:
        keys = {f"{self.prefix}/{hex_[:2]}/{hex_[2:]}": hex_ for hex_ in hexes}
        return {keys[key]: size for key, size in self.blobs.find_sizes(keys).items()}

    # -- where a content is ----------------------------------------------------------
    def _packed(self, digest: str, *, refresh: bool = False, max_age_s: float = 0.0) -> Location | None:
        """The pack location of ``digest``; with ``refresh``, look for packs written since too.

        ``max_age_s``: do not look again if the packs were listed more recently than that.
        """
        hex_ = check_digest(digest)[len(PREFIX) :]
        found = self.packs.find(hex_)
        if found is None and refresh and self.packs.refresh(max_age_s):
            found = self.packs.find(hex_)
        return found

    def stored_size(self, digest: str) -> int | None:
        """The size of the content stored for ``digest``, or None (one cheap call).

        It may miss a pack another process wrote since this store last looked: a caller
        that then stores the content again stores it twice, and loses nothing.
        """
        found = self._packed(digest)
        return found.length if found is not None else self.blobs.find_size(self.key_for(digest))

    def stored_sizes(self, digests: Iterable[str]) -> dict[str, int]:
        """The sizes of those of ``digests`` that are stored, looked up together (packs refreshed)."""
        wanted = check_digests(list(digests))
        self.packs.refresh()
        packed = self.packs.find_many(d[len(PREFIX) :] for d in wanted)
        found = {PREFIX + hex_: where.length for hex_, where in packed.items()}
        loose = [d[len(PREFIX) :] for d in wanted if d[len(PREFIX) :] not in packed]
        found.update({PREFIX + hex_: size for hex_, size in self._loose_sizes(loose).items()})
        return found

    def exists(self, digest: str) -> bool:
        """Whether content with this digest is stored.

        For a missing digest the packs are listed again at most once a second
        (:data:`RELIST_AFTER_S`): a server asked about thousands of new uploads lists its
        store once a second, not once per upload.
        """
        if self._packed(digest) is not None or self.blobs.exists(self.key_for(digest)):
            return True
        return self._packed(digest, refresh=True, max_age_s=RELIST_AFTER_S) is not None

    def size(self, digest: str) -> int:
        """The size in bytes of the content stored for ``digest``."""
        found = self._packed(digest)
        if found is not None:
            return found.length
        try:
            return self.blobs.size(self.key_for(digest))
        except NotFoundError:
            found = self._packed(digest, refresh=True, max_age_s=RELIST_AFTER_S)
            if found is None:
                raise
            return found.length

    # -- reads -----------------------------------------------------------------------
    def get_bytes(self, digest: str) -> bytes:
        """The content of ``digest``, verified; NotFoundError if absent."""
        found = self._packed(digest)
        if found is None:
            try:
                data = self.blobs.get_bytes(self.key_for(digest))
                self._verify(digest, digest_bytes(data))
                return data
            except NotFoundError:
                if self._packed(digest, refresh=True) is None:
                    raise
        return self._read_packed(digest)

    def _read_packed(self, digest: str) -> bytes:
        """Read a packed content, verified; once more after a refresh if its pack was rewritten."""
        for attempt in (1, 2):
            found = self._packed(digest, refresh=attempt == 2)
            if found is None:
                break
            try:
                data = self.blobs.get_range(*found)
            except NotFoundError:
                continue
            self._verify(digest, digest_bytes(data), f"{found.pack_key}@{found.offset}")
            return data
        raise NotFoundError(f"no content {digest} in {self.blobs.uri}{self._damage()}")

    def _damage(self) -> str:
        damaged = sorted(self.packs.damaged.values())
        return f" (and {'; '.join(damaged)})" if damaged else ""

    def get_file(self, digest: str, dest: Path) -> None:
        """Write the content of ``digest`` to ``dest``, verified before it appears there."""
        dest = Path(dest)
        if self._packed(digest) is None:
            try:
                self._get_loose_file(digest, dest)
                return
            except NotFoundError:
                if self._packed(digest, refresh=True) is None:
                    raise
        data = self._read_packed(digest)
        self._write_then_rename(dest, lambda tmp: tmp.write_bytes(data))

    def _get_loose_file(self, digest: str, dest: Path) -> None:
        def fetch(tmp: Path) -> None:
            self.blobs.get_file(self.key_for(digest), tmp)
            self._verify(digest, digest_file(tmp))

        self._write_then_rename(dest, fetch)

    @staticmethod
    def _write_then_rename(dest: Path, fill: Callable[[Path], object]) -> None:
        tmp = temp_sibling(dest)
        try:
            fill(tmp)
            tmp.replace(dest)
        except OSError as exc:
            raise BackendUnavailable(f"cannot write {str(dest)!r}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _verify(self, expected: str, actual: str, where: str | None = None) -> None:
        if actual != expected:
            raise BackendUnavailable(
                f"blob {where or self.key_for(expected)!r} in {self.blobs.uri} is corrupt: "
                f"expected {expected}, got {actual}; delete it and upload the content again",
                details={"expected": expected, "actual": actual},
            )

    # -- removal and listing ---------------------------------------------------------
    def delete(self, digest: str) -> None:
        """Remove the content of ``digest`` (loose or packed); NotFoundError if absent."""
        if not self.delete_many([digest]):
            raise NotFoundError(f"no blob {self.key_for(digest)!r} in {self.blobs.uri}")

    def delete_many(self, digests: Iterable[str]) -> int:
        """Remove the contents of ``digests`` wherever they are; how many were stored.

        Each pack holding some of them is rewritten once, without them.
        """
        wanted = {check_digest(d) for d in digests}
        removed: set[str] = set()
        for digest in wanted:
            try:
                self.blobs.delete(self.key_for(digest))
                removed.add(digest)
            except NotFoundError:
                pass
        self.packs.refresh()
        packed = drop_from_packs(self.packs, {d[len(PREFIX) :] for d in wanted})
        return len(removed | {PREFIX + hex_ for hex_ in packed})

    def delete_unindexed_packs(self) -> int:
        """Remove packs left without an index by an interrupted write; how many bytes that freed.

        Do not run it while another process is writing packs to this store.
        """
        self.packs.refresh()
        freed = 0
        for key in self.packs.unindexed:
            size = self.blobs.find_size(key)
            with contextlib.suppress(NotFoundError):
                self.blobs.delete(key)
                freed += size or 0
        return freed

    def iter_digests(self) -> Iterator[str]:
        """The digests stored, loose or packed, each once, in no set order.

        Keys under the prefix of another shape are ignored.
        """
        head = f"{self.prefix}/"
        seen = set()
        for key in self.blobs.list_keys(head):
            match = _KEY_TAIL.fullmatch(key[len(head) :])
            if match:
                seen.add(match[1] + match[2])
                yield PREFIX + match[1] + match[2]
        self.packs.refresh()
        for hex_ in sorted(self.packs.digests() - seen):
            yield PREFIX + hex_


class StagedContent:
    """A file on its way into a content store, committed under its digest once that is known."""

    def __init__(self, store: ContentStore, staged: StagedFile, size: int) -> None:
        self.store = store
        self.staged = staged
        self.size = size

    def commit(self, digest: str) -> tuple[str, int]:
        """Store the file as the content ``digest`` (unless already there); ``(digest, size)``."""
        if self.store.stored_size(digest) == self.size:
            self.staged.discard()
        else:
            self.staged.commit(self.store.key_for(digest))
        return digest, self.size

    def discard(self) -> None:
        """Drop the copy; safe to call again, and after ``commit``."""
        self.staged.discard()
