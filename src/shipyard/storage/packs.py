"""Packs: many small contents in one blob, found through an index (as git does).

A blob per content costs a file (or an object) per content: for 20,000 files of 4 KiB
that is most of the time of a snapshot. So the content store can keep small contents
(under :data:`PACK_THRESHOLD`) in packs, under its prefix:

* ``packs/<id>.pack`` holds the contents back to back;
* ``packs/<id>.idx`` maps each content's digest to its ``(offset, length)`` in the pack:
  a header, the records sorted by digest, and a BLAKE3 checksum of both.

A pack is written before its index, each atomically, so a pack becomes visible only
complete; a pack left without an index (a crash in between) is invisible and removed by
:meth:`~shipyard.storage.cas.ContentStore.delete_unindexed_packs`. The pack's id is the
BLAKE3 of its index. Reads verify every content against its digest, as for loose blobs.
A pack is never changed: deleting a content writes a new pack without it, then removes
the old pack.

>>> index = encode_index({"ab" * 32: (0, 3)}, pack_size=3)
>>> decode_index(index)
({'abababababababababababababababababababababababababababababababab': (0, 3)}, 3)
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import NamedTuple

from blake3 import blake3

from shipyard.core.errors import NotFoundError
from shipyard.storage.base import BlobStore
from shipyard.storage.digests import PREFIX, digest_bytes

#: Contents smaller than this (in bytes) go into packs when written through a PackWriter.
PACK_THRESHOLD = 64 * 1024
#: A PackWriter starts a new pack when the one it fills reaches this size.
PACK_MAX_BYTES = 128 * 1024 * 1024

_MAGIC = b"SYPACK\x00\x01"
_HEADER = struct.Struct("<8sQQ")  # magic, record count, pack size
_RECORD = struct.Struct("<32sQQ")  # raw digest, offset, length
_CHECKSUM = 32

#: ``{digest hex: (offset, length)}``: what one pack holds.
Entries = dict[str, tuple[int, int]]


class Location(NamedTuple):
    """Where a packed content is: the key of its pack, its offset and its length there."""

    pack_key: str
    offset: int
    length: int


def encode_index(entries: Entries, pack_size: int) -> bytes:
    """The index of a pack holding ``entries``: header, records sorted by digest, checksum."""
    records = b"".join(
        _RECORD.pack(bytes.fromhex(hex_), offset, length)
        for hex_, (offset, length) in sorted(entries.items())
    )
    body = _HEADER.pack(_MAGIC, len(entries), pack_size) + records
    return body + blake3(body).digest()


def decode_index(data: bytes) -> tuple[Entries, int]:
    """``(entries, pack size)`` of an index; ValueError if it is damaged or not an index."""
    if len(data) < _HEADER.size + _CHECKSUM:
        raise ValueError("too short to be a pack index")
    body, checksum = data[:-_CHECKSUM], data[-_CHECKSUM:]
    if blake3(body).digest() != checksum:
        raise ValueError("its checksum does not match")
    magic, count, pack_size = _HEADER.unpack_from(body)
    if magic != _MAGIC or len(body) != _HEADER.size + count * _RECORD.size:
        raise ValueError("unknown format or wrong length")
    entries = {
        raw.hex(): (offset, length) for raw, offset, length in _RECORD.iter_unpack(body[_HEADER.size :])
    }
    if any(offset + length > pack_size for offset, length in entries.values()):
        raise ValueError("a record points past the end of its pack")
    return entries, pack_size


def write_pack(blobs: BlobStore, folder: str, items: Sequence[tuple[str, bytes]]) -> tuple[str, Entries]:
    """Write ``(digest hex, content)`` items as one pack, then its index; ``(pack id, entries)``."""
    entries: Entries = {}
    offset = 0
    for hex_, data in items:
        entries[hex_] = (offset, len(data))
        offset += len(data)
    index = encode_index(entries, offset)
    pack_id = blake3(index).hexdigest()[:32]
    blobs.put_parts(f"{folder}/{pack_id}.pack", [data for _, data in items])
    blobs.put_bytes(f"{folder}/{pack_id}.idx", index)
    return pack_id, entries


class PackIndex:
    """What the packs of one store hold, loaded from their indexes and refreshed on demand.

    Thread-safe. ``find`` answers from memory; ``refresh`` lists the packs folder and
    loads the indexes it has not seen (and forgets packs that were removed), so a pack
    another process wrote is found after the next refresh.
    """

    def __init__(self, blobs: BlobStore, folder: str) -> None:
        self.blobs = blobs
        self.folder = folder
        self._lock = threading.RLock()
        self._packs: dict[str, Entries] = {}
        self._where: dict[str, str] = {}  # digest hex -> id of a pack holding it
        self._listed = False
        self._refreshed = float("-inf")
        #: Packs whose index could not be read, with the reason.
        self.damaged: dict[str, str] = {}
        #: Keys of packs without an index, as of the last refresh.
        self.unindexed: list[str] = []

    def key(self, pack_id: str, suffix: str = "pack") -> str:
        return f"{self.folder}/{pack_id}.{suffix}"

    def find(self, hex_: str) -> Location | None:
        """Where the content with this digest (hex, no prefix) is packed, as far as known."""
        with self._lock:
            if not self._listed:
                self.refresh()
            pack_id = self._where.get(hex_)
            if pack_id is None:
                return None
            offset, length = self._packs[pack_id][hex_]
            return Location(self.key(pack_id), offset, length)

    def find_many(self, hexes: Iterable[str]) -> dict[str, Location]:
        """:meth:`find` of many digests at once: those packed, with where they are."""
        with self._lock:
            if not self._listed:
                self.refresh()
            found = {}
            for hex_ in hexes:
                pack_id = self._where.get(hex_)
                if pack_id is not None:
                    offset, length = self._packs[pack_id][hex_]
                    found[hex_] = Location(self.key(pack_id), offset, length)
            return found

    def refresh(self, max_age_s: float = 0.0) -> bool:
        """Load the indexes of packs new in the store, forget removed ones; whether anything changed.

        With ``max_age_s``, nothing is done if the last refresh is more recent than that.
        """
        if max_age_s and time.monotonic() - self._refreshed < max_age_s:
            return False
        self._refreshed = time.monotonic()
        keys = set(self.blobs.list_keys(self.folder + "/"))
        head = len(self.folder) + 1
        indexed = {key[head:-4] for key in keys if key.endswith(".idx")}
        with self._lock:
            self._listed = True
            self.unindexed = sorted(
                key for key in keys if key.endswith(".pack") and key[head:-5] not in indexed
            )
            gone = [pack_id for pack_id in self._packs if pack_id not in indexed]
            for pack_id in gone:
                self._forget(pack_id)
            new = [pack_id for pack_id in sorted(indexed) if pack_id not in self._packs]
            for pack_id in new:
                self._load(pack_id)
            return bool(gone or new)

    def _load(self, pack_id: str) -> None:
        try:
            entries, _ = decode_index(self.blobs.get_bytes(self.key(pack_id, "idx")))
        except NotFoundError:  # removed between the listing and now
            return
        except ValueError as exc:
            self.damaged[pack_id] = f"pack index {self.key(pack_id, 'idx')!r} is damaged: {exc}"
            return
        self.damaged.pop(pack_id, None)
        self.add(pack_id, entries)

    def add(self, pack_id: str, entries: Entries) -> None:
        """Record a pack (one this process has just written, or one just loaded)."""
        with self._lock:
            self._packs[pack_id] = entries
            for hex_ in entries:
                self._where.setdefault(hex_, pack_id)

    def _forget(self, pack_id: str) -> None:
        entries = self._packs.pop(pack_id, {})
        for hex_ in entries:
            if self._where.get(hex_) == pack_id:
                other = next((p for p, held in self._packs.items() if hex_ in held), None)
                if other is None:
                    del self._where[hex_]
                else:
                    self._where[hex_] = other

    def forget(self, pack_id: str) -> None:
        """Stop using a pack (this process has just removed it)."""
        with self._lock:
            self._forget(pack_id)

    def digests(self) -> set[str]:
        """Every packed digest (hex), as far as known."""
        with self._lock:
            return set(self._where)

    def holding(self, hexes: Iterable[str]) -> dict[str, Entries]:
        """The packs holding any of ``hexes``, with all their entries."""
        wanted = set(hexes)
        with self._lock:
            return {p: dict(entries) for p, entries in self._packs.items() if not wanted.isdisjoint(entries)}


class PackWriter:
    """Small contents gathered in memory and written as packs of up to ``max_bytes`` each.

    Use it as a context manager: what was put is written when the block ends (and when a
    pack fills up); if the block raises, what is still in memory is dropped. A content
    already packed, already put, or stored loose with its size (``loose_sizes``, unless
    None) is not written again.
    """

    def __init__(
        self,
        index: PackIndex,
        loose_sizes: Callable[[list[str]], dict[str, int]] | None,
        max_bytes: int = PACK_MAX_BYTES,
    ) -> None:
        self.index = index
        self.loose_sizes = loose_sizes
        self.max_bytes = max_bytes
        self.written: list[str] = []  # ids of the packs written
        self._pending: dict[str, bytes] = {}
        self._pending_bytes = 0
        self._lock = threading.Lock()

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.flush()
        else:
            self.discard()

    def put_bytes(self, data: bytes, digest: str | None = None) -> str:
        """Add ``data`` unless stored already; return its digest.

        A caller that has just hashed these very bytes passes their ``digest`` so they are
        not hashed again (every read verifies it anyway).
        """
        digest = digest or digest_bytes(data)
        self.put_all([(data, digest)])
        return digest

    def put_all(self, items: Iterable[tuple[bytes, str]]) -> None:
        """:meth:`put_bytes` of many ``(data, digest)`` pairs (digests just computed from the data)."""
        items = list(items)
        known = self.index.find_many(digest[len(PREFIX) :] for _, digest in items)
        with self._lock:
            for data, digest in items:
                hex_ = digest[len(PREFIX) :]
                if hex_ not in known and hex_ not in self._pending:
                    self._pending[hex_] = bytes(data)
                    self._pending_bytes += len(data)
                    if self._pending_bytes >= self.max_bytes:
                        self._flush_locked()

    def flush(self) -> None:
        """Write what is in memory as one pack (skipping what is stored loose meanwhile)."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        pending, self._pending, self._pending_bytes = self._pending, {}, 0
        if not pending:
            return
        loose = self.loose_sizes(list(pending)) if self.loose_sizes is not None else {}
        items = [(hex_, data) for hex_, data in pending.items() if loose.get(hex_) != len(data)]
        if not items:
            return
        pack_id, entries = write_pack(self.index.blobs, self.index.folder, items)
        self.index.add(pack_id, entries)
        self.written.append(pack_id)

    def discard(self) -> None:
        """Drop what is in memory, unwritten."""
        with self._lock:
            self._pending, self._pending_bytes = {}, 0


def drop_from_packs(index: PackIndex, hexes: set[str]) -> set[str]:
    """Remove the contents ``hexes`` from every pack holding them; the digests (hex) removed.

    Each such pack is rewritten without them (when anything else is left in it) before it
    is removed, so a reader always finds the other contents in one pack or the other.
    """
    removed: set[str] = set()
    for pack_id, entries in index.holding(hexes).items():
        keep = [hex_ for hex_ in entries if hex_ not in hexes]
        if keep:
            try:
                data = index.blobs.get_bytes(index.key(pack_id))
            except NotFoundError:  # the pack is gone already: its contents cannot be kept
                data = b""
            items = [
                (hex_, data[offset : offset + length])
                for hex_ in keep
                for offset, length in [entries[hex_]]
                if offset + length <= len(data)
            ]
            if items:
                new_id, new_entries = write_pack(index.blobs, index.folder, items)
                index.add(new_id, new_entries)
        for suffix in ("idx", "pack"):  # the index first: a pack without one is invisible
            with contextlib.suppress(NotFoundError):
                index.blobs.delete(index.key(pack_id, suffix))
        index.forget(pack_id)
        removed.update(hex_ for hex_ in entries if hex_ in hexes)
    return removed
