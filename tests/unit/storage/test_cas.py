"""The content-addressed layer: dedup, digests, and corruption caught on read."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.core.errors import BackendUnavailable, ConflictError, InvalidInputError, NotFoundError
from shipyard.storage import local
from shipyard.storage.base import fingerprint
from shipyard.storage.cas import ContentStore
from shipyard.storage.digests import MMAP_THRESHOLD, check_digest, digest_bytes, digest_file
from shipyard.storage.local import LocalBlobStore

# Reference values from the BLAKE3 specification's reference implementation (b3sum).
EMPTY = "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
ABC = "blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def cas(blobs: LocalBlobStore) -> ContentStore:
    return ContentStore(blobs)


def test_digest_of_known_strings_matches_blake3_reference(tmp_path: Path) -> None:
    assert digest_bytes(b"") == EMPTY
    assert digest_bytes(b"abc") == ABC
    (tmp_path / "abc").write_bytes(b"abc")
    assert digest_file(tmp_path / "abc") == ABC


def test_big_file_hashed_with_mmap_matches_bytes_digest(tmp_path: Path) -> None:
    data = bytes(range(256)) * (MMAP_THRESHOLD // 256 + 7)
    (tmp_path / "big").write_bytes(data)
    assert digest_file(tmp_path / "big") == digest_bytes(data)


def test_digest_file_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        digest_file(tmp_path / "missing")
    with pytest.raises(InvalidInputError, match="folder"):
        digest_file(tmp_path)


@pytest.mark.parametrize(
    "bad", ["", "blake3:", "sha256:" + "0" * 64, "blake3:" + "A" * 64, "blake3:" + "0" * 63]
)
def test_check_digest_rejects_bad_spellings(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid digest"):
        check_digest(bad)


def test_same_content_is_stored_once(cas: ContentStore, blobs: LocalBlobStore, tmp_path: Path) -> None:
    (tmp_path / "one").write_bytes(b"same content")
    (tmp_path / "two").write_bytes(b"same content")
    first = cas.put_file(tmp_path / "one")
    second = cas.put_file(tmp_path / "two")
    assert first == second == (digest_bytes(b"same content"), 12)
    assert cas.put_bytes(b"same content") == first[0]
    assert list(blobs.list_keys()) == [cas.key_for(first[0])]
    assert list(cas.iter_digests()) == [first[0]]


def test_existing_blob_is_not_uploaded_again(
    cas: ContentStore, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    digest = cas.put_bytes(b"payload")
    mtime = (blobs.root / cas.key_for(digest)).stat().st_mtime_ns
    (tmp_path / "f").write_bytes(b"payload")
    cas.put_file(tmp_path / "f")
    assert (blobs.root / cas.key_for(digest)).stat().st_mtime_ns == mtime


def test_key_layout(cas: ContentStore) -> None:
    assert cas.key_for(ABC) == "cas/64/37b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"


def test_round_trip_bytes_and_file(cas: ContentStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    digest = cas.put_bytes(data)
    assert cas.exists(digest)
    assert cas.size(digest) == len(data)
    assert cas.get_bytes(digest) == data
    cas.get_file(digest, tmp_path / "out" / "copy.bin")
    assert (tmp_path / "out" / "copy.bin").read_bytes() == data
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "copy.bin"]


def _corrupt(cas: ContentStore, blobs: LocalBlobStore, digest: str, data: bytes) -> None:
    (blobs.root / cas.key_for(digest)).write_bytes(data)


def test_corrupt_blob_is_detected_on_read(cas: ContentStore, blobs: LocalBlobStore) -> None:
    digest = cas.put_bytes(b"the real thing")
    _corrupt(cas, blobs, digest, b"the fake thing")
    with pytest.raises(
        BackendUnavailable, match=r"is corrupt: expected blake3:[0-9a-f]{64}, got blake3:"
    ) as info:
        cas.get_bytes(digest)
    assert info.value.details == {"expected": digest, "actual": digest_bytes(b"the fake thing")}


def test_corrupt_blob_never_reaches_dest(cas: ContentStore, blobs: LocalBlobStore, tmp_path: Path) -> None:
    digest = cas.put_bytes(b"the real thing")
    _corrupt(cas, blobs, digest, b"the fake thing")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BackendUnavailable, match="is corrupt"):
        cas.get_file(digest, out / "model.bin")
    assert list(out.iterdir()) == []
    (out / "model.bin").write_bytes(b"previous")
    with pytest.raises(BackendUnavailable, match="is corrupt"):
        cas.get_file(digest, out / "model.bin")
    assert list(out.iterdir()) == [out / "model.bin"]
    assert (out / "model.bin").read_bytes() == b"previous"


def test_truncated_blob_is_repaired_by_the_next_put(cas: ContentStore, blobs: LocalBlobStore) -> None:
    digest = cas.put_bytes(b"complete content")
    _corrupt(cas, blobs, digest, b"compl")
    assert cas.put_bytes(b"complete content") == digest
    assert cas.get_bytes(digest) == b"complete content"


def test_missing_and_delete(cas: ContentStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        cas.get_bytes(ABC)
    with pytest.raises(NotFoundError):
        cas.get_file(ABC, tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert not cas.exists(ABC)
    digest = cas.put_bytes(b"abc")
    assert digest == ABC
    cas.delete(digest)
    assert not cas.exists(digest)
    assert list(cas.iter_digests()) == []
    with pytest.raises(NotFoundError):
        cas.delete(digest)


def test_iter_digests_ignores_foreign_keys(cas: ContentStore, blobs: LocalBlobStore) -> None:
    digests = {cas.put_bytes(bytes([i])) for i in range(20)}
    blobs.put_bytes("cas/readme.txt", b"not a blob")
    blobs.put_bytes("other/file", b"x")
    assert set(cas.iter_digests()) == digests


def test_bad_digest_is_invalid_input(cas: ContentStore) -> None:
    with pytest.raises(InvalidInputError):
        cas.get_bytes("blake3:../../etc/passwd")


# -- properties over random contents --------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

blobs_strategy = st.lists(st.binary(max_size=2048), min_size=1, max_size=12)
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(contents=blobs_strategy)
def test_every_distinct_content_is_stored_once_and_round_trips(tmp_path: Path, contents: list[bytes]) -> None:
    import uuid

    cas = ContentStore(LocalBlobStore(tmp_path / uuid.uuid4().hex))
    digests = [cas.put_bytes(data) for data in contents]
    assert len(set(cas.iter_digests())) == len(set(contents)), "one blob per distinct content"
    for data, digest in zip(contents, digests, strict=True):
        assert digest == digest_bytes(data)
        assert cas.get_bytes(digest) == data


@PROPERTY
@given(data=st.binary(min_size=1, max_size=4096), position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_corrupted_byte_is_caught_on_read(tmp_path: Path, data: bytes, position: int, flip: int) -> None:
    import uuid

    root = tmp_path / uuid.uuid4().hex
    cas = ContentStore(LocalBlobStore(root))
    digest = cas.put_bytes(data)
    blob = root / cas.key_for(digest)
    damaged = bytearray(blob.read_bytes())
    damaged[position % len(damaged)] ^= flip
    blob.write_bytes(bytes(damaged))
    with pytest.raises(BackendUnavailable, match="corrupt"):
        cas.get_bytes(digest)
    dest = root.parent / (root.name + "-out")
    with pytest.raises(BackendUnavailable):
        cas.get_file(digest, dest)
    assert not dest.exists(), "a corrupt blob never appears at the destination"


def test_put_file_with_a_known_digest_does_not_read_twice_and_refuses_a_changed_file(tmp_path: Path) -> None:
    cas = ContentStore(LocalBlobStore(tmp_path / "store"))
    src = tmp_path / "f"
    src.write_bytes(b"hello")
    digest, before = digest_file(src), fingerprint(src.stat())
    assert cas.put_file(src, digest, unchanged=before) == (digest, 5)
    assert cas.get_bytes(digest) == b"hello" and cas.stored_size(digest) == 5
    other = tmp_path / "g"
    other.write_bytes(b"world")
    stale = fingerprint(other.stat())
    other.write_bytes(b"world, longer")
    with pytest.raises(ConflictError, match="changed while it was being added"):
        cas.put_file(other, digest_file(other), unchanged=stale)
    assert sorted(cas.iter_digests()) == [digest]
    assert not [p for p in (tmp_path / "store").rglob("*") if p.name.endswith(".shipyard-tmp")]


def test_a_file_changed_during_the_copy_is_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cas = ContentStore(LocalBlobStore(tmp_path / "store"))
    src = tmp_path / "f"
    src.write_bytes(b"hello")
    digest, before = digest_file(src), fingerprint(src.stat())
    real = local.copy_fd

    def copy_then_edit(a: int, b: int, size: int) -> None:
        real(a, b, size)
        src.write_bytes(b"HELLO!")

    monkeypatch.setattr(local, "copy_fd", copy_then_edit)
    with pytest.raises(ConflictError, match="changed while it was being added"):
        cas.put_file(src, digest, unchanged=before)
    assert list(cas.iter_digests()) == [] and cas.stored_size(digest) is None
