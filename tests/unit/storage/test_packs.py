"""Packs: small contents stored many to a blob, found by digest, verified on read, collected by gc."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipyard.core.errors import BackendUnavailable, InvalidInputError, NotFoundError
from shipyard.storage.base import check_key, check_keys
from shipyard.storage.cas import ContentStore
from shipyard.storage.digests import check_digest, check_digests, digest_bytes
from shipyard.storage.local import LocalBlobStore
from shipyard.storage.packs import decode_index, encode_index

PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
contents_strategy = st.lists(st.binary(max_size=3000), min_size=1, max_size=20)


def fresh_store(tmp_path: Path) -> ContentStore:
    return ContentStore(LocalBlobStore(tmp_path / uuid.uuid4().hex))


def pack_files(cas: ContentStore, suffix: str) -> list[str]:
    return sorted(k for k in cas.blobs.list_keys("cas/packs/") if k.endswith(suffix))


def packed(cas: ContentStore, contents: list[bytes], max_bytes: int = 1 << 20) -> list[str]:
    with cas.packing(max_bytes=max_bytes) as pack:
        return [pack.put_bytes(data) for data in contents]


@PROPERTY
@given(contents=contents_strategy, max_bytes=st.integers(1, 8000))
def test_packed_contents_round_trip_through_every_read(
    tmp_path: Path, contents: list[bytes], max_bytes: int
) -> None:
    cas = fresh_store(tmp_path)
    digests = packed(cas, contents, max_bytes)
    assert digests == [digest_bytes(data) for data in contents]
    assert sorted(cas.iter_digests()) == sorted(set(digests))
    assert not [k for k in cas.blobs.list_keys() if not k.startswith("cas/packs/")], "nothing loose"
    again = ContentStore(cas.blobs)  # another process, say: it finds the packs by itself
    for store in (cas, again):
        for data, digest in zip(contents, digests, strict=True):
            assert store.exists(digest) and store.size(digest) == len(data)
            assert store.stored_size(digest) == len(data)
            assert store.get_bytes(digest) == data
    out = tmp_path / f"{uuid.uuid4().hex}.out"
    again.get_file(digests[0], out)
    assert out.read_bytes() == contents[0]


@PROPERTY
@given(contents=contents_strategy)
def test_each_distinct_content_is_stored_once(tmp_path: Path, contents: list[bytes]) -> None:
    cas = fresh_store(tmp_path)
    loose = cas.put_bytes(contents[0])  # stored loose first: packing skips it
    packed(cas, contents)
    packs = pack_files(cas, ".pack")
    assert len(packs) <= 1
    if packs:
        pack = cas.blobs.get_bytes(packs[0])
        assert len(pack) == sum(len(d) for d in set(contents) - {contents[0]})
    assert packed(cas, contents + list(reversed(contents)))  # everything is stored: no new pack
    assert pack_files(cas, ".pack") == packs
    assert cas.put_bytes(contents[-1]) == digest_bytes(contents[-1])  # a packed one is not put loose
    loose_keys = [k for k in cas.blobs.list_keys() if not k.startswith("cas/packs/")]
    assert loose_keys == [cas.key_for(loose)] or contents[-1] == contents[0]
    assert len(list(cas.iter_digests())) == len(set(contents))


@PROPERTY
@given(
    contents=st.lists(st.binary(min_size=1, max_size=500), min_size=2, max_size=10, unique=True),
    pick=st.integers(min_value=0),
    position=st.integers(min_value=0),
    flip=st.integers(1, 255),
)
def test_any_corrupted_byte_of_a_packed_content_is_caught(
    tmp_path: Path, contents: list[bytes], pick: int, position: int, flip: int
) -> None:
    cas = fresh_store(tmp_path)
    digests = packed(cas, contents)
    victim = pick % len(contents)
    where = cas.packs.find(digests[victim].removeprefix("blake3:"))
    assert where is not None
    path = tmp_path / cas.blobs.root.name / where.pack_key  # type: ignore[attr-defined]
    data = bytearray(path.read_bytes())
    data[where.offset + position % where.length] ^= flip
    path.write_bytes(bytes(data))
    with pytest.raises(BackendUnavailable, match="corrupt") as info:
        cas.get_bytes(digests[victim])
    assert info.value.details["expected"] == digests[victim]
    dest = tmp_path / f"{uuid.uuid4().hex}.out"
    with pytest.raises(BackendUnavailable, match="corrupt"):
        cas.get_file(digests[victim], dest)
    assert not dest.exists(), "a corrupt content never appears at its destination"
    for i, digest in enumerate(digests):  # the others in the same pack are intact
        if i != victim:
            assert cas.get_bytes(digest) == contents[i]


@PROPERTY
@given(
    contents=st.lists(st.binary(max_size=800), min_size=1, max_size=15, unique=True),
    doomed=st.sets(st.integers(0, 14)),
    max_bytes=st.integers(1, 4000),
)
def test_deleting_contents_rewrites_their_packs_without_them(
    tmp_path: Path, contents: list[bytes], doomed: set[int], max_bytes: int
) -> None:
    cas = fresh_store(tmp_path)
    digests = packed(cas, contents, max_bytes)
    reader = ContentStore(cas.blobs)
    assert sorted(reader.iter_digests()) == sorted(digests)  # it has read every index before the gc
    gone = {digests[i] for i in doomed if i < len(digests)}
    assert cas.delete_many(gone) == len(gone)
    kept = [(d, data) for d, data in zip(digests, contents, strict=True) if d not in gone]
    for store in (cas, reader):  # the reader's index is stale: a failed read makes it look again
        assert sorted(store.iter_digests()) == sorted(d for d, _ in kept)
        for digest, data in kept:
            assert store.get_bytes(digest) == data
        for digest in gone:
            assert not store.exists(digest)
            with pytest.raises(NotFoundError):
                store.get_bytes(digest)
    packs = pack_files(cas, ".pack")
    held = sum(len(cas.blobs.get_bytes(key)) for key in packs)
    assert held == sum(len(data) for _, data in kept), "no pack keeps the bytes of a deleted content"
    assert [k.removesuffix(".pack") for k in packs] == [
        k.removesuffix(".idx") for k in pack_files(cas, ".idx")
    ]


def test_delete_of_what_is_not_stored_is_not_found(tmp_path: Path) -> None:
    cas = fresh_store(tmp_path)
    [digest] = packed(cas, [b"kept"])
    with pytest.raises(NotFoundError):
        cas.delete(digest_bytes(b"never stored"))
    cas.delete(digest)
    assert list(cas.iter_digests()) == [] and pack_files(cas, ".pack") == []


def test_nothing_is_written_when_the_block_raises(tmp_path: Path) -> None:
    cas = fresh_store(tmp_path)
    with pytest.raises(RuntimeError), cas.packing() as pack:
        digest = pack.put_bytes(b"half done")
        raise RuntimeError("interrupted")
    assert not cas.exists(digest) and list(cas.blobs.list_keys()) == []


def test_a_pack_without_its_index_is_invisible_and_collected(tmp_path: Path) -> None:
    cas = fresh_store(tmp_path)
    [digest] = packed(cas, [b"content"])
    [index] = pack_files(cas, ".idx")
    cas.blobs.delete(index)  # as if the writer died between the pack and its index
    fresh = ContentStore(cas.blobs)
    assert not fresh.exists(digest) and list(fresh.iter_digests()) == []
    assert fresh.delete_unindexed_packs() == len(b"content")
    assert list(cas.blobs.list_keys()) == []


def test_a_damaged_index_is_reported_when_a_content_is_missing(tmp_path: Path) -> None:
    cas = fresh_store(tmp_path)
    [digest] = packed(cas, [b"content"])
    [index] = pack_files(cas, ".idx")
    cas.blobs.put_bytes(index, cas.blobs.get_bytes(index)[:-1] + b"\x00")
    fresh = ContentStore(cas.blobs)
    with pytest.raises(NotFoundError, match="damaged"):
        fresh.get_bytes(digest)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_decode_index_refuses_anything_but_an_index(data: bytes) -> None:
    try:
        entries, size = decode_index(data)
    except ValueError:
        return
    assert encode_index(entries, size) == data  # only a well-formed index decodes


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.binary(min_size=32, max_size=32).map(bytes.hex),
        st.tuples(st.integers(0, 1 << 40), st.integers(0, 1 << 20)),
        max_size=20,
    )
)
def test_index_round_trips(entries: dict[str, tuple[int, int]]) -> None:
    size = max((offset + length for offset, length in entries.values()), default=0)
    assert decode_index(encode_index(entries, size)) == (entries, size)
    if size > 0:
        with pytest.raises(ValueError, match="past the end"):
            decode_index(encode_index(entries, size - 1))


def _outcome(check: object, value: object) -> object:
    try:
        return check(value)  # type: ignore[operator]
    except (InvalidInputError, TypeError) as exc:
        return type(exc)


key_text = st.text(alphabet="ab/._-%\\~:\n", max_size=12)
digest_text = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda b: "blake3:" + b.hex()),
    st.text(alphabet="blake3:0f", max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(key_text, max_size=5))
@example(["-\n-"])  # one key holding a newline is not two plain keys
def test_checking_many_keys_agrees_with_checking_each(keys: list[str]) -> None:
    each = [_outcome(check_key, key) for key in keys]
    expected = next((o for o in each if isinstance(o, type)), each)
    assert _outcome(check_keys, keys) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(digest_text, max_size=5))
@example(["blake3:" + "0" * 64 + "\nblake3:" + "1" * 64])  # one digest holding a newline is not two
def test_checking_many_digests_agrees_with_checking_each(digests: list[str]) -> None:
    each = [_outcome(check_digest, d) for d in digests]
    expected = next((o for o in each if isinstance(o, type)), each)
    assert _outcome(check_digests, digests) == expected
