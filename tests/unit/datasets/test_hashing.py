"""Hashing many files, and the stat cache that spares re-reading unchanged ones."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from blake3 import blake3
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.datasets import hashing
from shipyard.datasets.hashing import StatCache, hash_files

names = st.text(alphabet="abcdefgh", min_size=1, max_size=6)
trees = st.dictionaries(
    st.lists(names, min_size=1, max_size=3).map(lambda parts: "/".join(parts)),
    st.binary(max_size=3000),
    min_size=1,
    max_size=12,
)


def write_tree(root: Path, tree: dict[str, bytes]) -> list[Path]:
    """Write the files of ``tree``, skipping paths that clash with a folder of another path."""
    written = []
    for logical, data in sorted(tree.items()):
        path = root / logical
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except (IsADirectoryError, NotADirectoryError, FileExistsError):
            continue
        written.append(path)
    return written


def backdate(paths: list[Path], seconds: float = 60) -> None:
    """Set mtimes in the past, out of the racy window."""
    past = time.time() - seconds
    for path in paths:
        os.utime(path, (past, past))


@settings(max_examples=40, deadline=None)
@given(trees)
def test_digests_are_blake3_of_content_with_or_without_cache(tree: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        files = write_tree(root, tree)
        backdate(files)
        expected = ["blake3:" + blake3(p.read_bytes()).hexdigest() for p in files]
        cache = StatCache(Path(tmp) / "cache.sqlite")
        first = hash_files(files, cache=cache, root=root)
        second = hash_files(files, cache=cache, root=root)
        assert first.digests == second.digests == expected
        assert first.sizes == [p.stat().st_size for p in files]
        assert (first.hashed, first.cached) == (len(files), 0)
        assert (second.hashed, second.cached) == (0, len(files))


def test_big_files_are_hashed_on_all_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "MMAP_THRESHOLD", 1024)
    data = os.urandom(5000)
    (tmp_path / "big.bin").write_bytes(data)
    (tmp_path / "small.bin").write_bytes(b"x")
    result = hash_files([tmp_path / "big.bin", tmp_path / "small.bin"])
    assert result.digests == ["blake3:" + blake3(d).hexdigest() for d in (data, b"x")]


@pytest.fixture
def tree(tmp_path: Path) -> list[Path]:
    files = write_tree(tmp_path / "data", {f"f{i}.txt": f"content {i}".encode() for i in range(5)})
    backdate(files)
    return files


def test_modified_file_same_size_is_read_again(tmp_path: Path, tree: list[Path]) -> None:
    cache = StatCache(tmp_path / "cache.sqlite")
    hash_files(tree, cache=cache, root=tmp_path / "data")
    tree[0].write_bytes(b"CONTENT 0")  # same size, new content, new mtime
    backdate(tree[:1], seconds=30)
    again = hash_files(tree, cache=cache, root=tmp_path / "data")
    assert (again.hashed, again.cached) == (1, 4)
    assert again.digests[0] == "blake3:" + blake3(b"CONTENT 0").hexdigest()


def test_touched_file_is_read_again_with_the_same_digest(tmp_path: Path, tree: list[Path]) -> None:
    cache = StatCache(tmp_path / "cache.sqlite")
    first = hash_files(tree, cache=cache, root=tmp_path / "data")
    backdate(tree[1:2], seconds=10)
    again = hash_files(tree, cache=cache, root=tmp_path / "data")
    assert (again.hashed, again.digests) == (1, first.digests)


def test_replaced_file_with_same_stat_but_new_inode_is_read_again(tmp_path: Path, tree: list[Path]) -> None:
    cache = StatCache(tmp_path / "cache.sqlite")
    hash_files(tree, cache=cache, root=tmp_path / "data")
    st = tree[2].stat()
    keep = tree[2].with_name("keep")  # hold the old inode so the new file cannot reuse it
    tree[2].rename(keep)
    tree[2].write_bytes(b"CONTENT 2")
    os.utime(tree[2], ns=(st.st_atime_ns, st.st_mtime_ns))
    keep.unlink()
    again = hash_files(tree, cache=cache, root=tmp_path / "data")
    assert again.hashed == 1 and again.digests[2] == "blake3:" + blake3(b"CONTENT 2").hexdigest()


def test_files_written_just_now_are_not_cached(tmp_path: Path) -> None:
    fresh = write_tree(tmp_path / "data", {"new.txt": b"racy"})
    cache = StatCache(tmp_path / "cache.sqlite")
    hash_files(fresh, cache=cache, root=tmp_path / "data")
    assert cache.load(tmp_path / "data") == {}
    assert hash_files(fresh, cache=cache, root=tmp_path / "data").hashed == 1


def test_cache_loads_only_entries_under_the_root(tmp_path: Path) -> None:
    a = write_tree(tmp_path / "a", {"x": b"1"})
    ab = write_tree(tmp_path / "ab", {"x": b"2"})
    backdate(a + ab)
    cache = StatCache(tmp_path / "cache.sqlite")
    hash_files(a + ab, cache=cache, root=tmp_path)
    assert list(cache.load(tmp_path / "a")) == [str(a[0])]
    assert list(cache.load(a[0])) == [str(a[0])]


def test_a_corrupt_cache_costs_only_a_re_read(tmp_path: Path, tree: list[Path]) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    result = hash_files(tree, cache=StatCache(path), root=tmp_path / "data")
    assert result.hashed == len(tree)


def test_unreadable_and_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"gone\.txt"):
        hash_files([tmp_path / "gone.txt"])
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(InvalidInputError, match="folder"):
        hash_files([folder])


def test_progress_sees_every_file(tmp_path: Path, tree: list[Path]) -> None:
    seen: list[int] = []
    hash_files(tree, on_file=seen.append)
    assert sorted(seen) == sorted(p.stat().st_size for p in tree)


def test_a_source_is_recorded_in_one_row_readable_with_plain_sqlite(tmp_path: Path, tree: list[Path]) -> None:
    import sqlite3

    from shipyard.datasets.statcache import listing

    cache = StatCache(tmp_path / "cache.sqlite")
    root = str(tmp_path / "data")
    files = [(p.name, *(lambda s: (s.st_size, s.st_mtime_ns, s.st_ino))(p.stat())) for p in tree]
    digests = ["blake3:" + blake3(p.read_bytes()).hexdigest() for p in tree]
    cache.save_source(root, root, files, digests, manifest="blake3:" + "1" * 64)
    with sqlite3.connect(tmp_path / "cache.sqlite") as conn:
        [(manifest, listed)] = conn.execute("SELECT manifest, listing FROM sources").fetchall()
    assert manifest == "blake3:" + "1" * 64 and listed == listing(files)
    assert cache.find_source(root) == (manifest, listed)
    loaded = cache.load(root)
    assert sorted(loaded) == sorted(str(p) for p in tree)
    assert [loaded[str(p)][3] for p in tree] == digests


def test_untrusted_files_and_incomplete_sources_are_not_claimed(tmp_path: Path, tree: list[Path]) -> None:
    cache = StatCache(tmp_path / "cache.sqlite")
    root = str(tmp_path / "data")
    files = [(p.name, 1, 2, 3) for p in tree]
    cache.save_source(root, root, files, [None, *["blake3:" + "2" * 64] * (len(tree) - 1)], manifest=None)
    assert cache.find_source(root) is None  # no manifest: the listing proves nothing
    assert str(tree[0]) not in cache.load(root) and len(cache.load(root)) == len(tree) - 1


def test_a_file_source_is_found_from_its_folder_and_the_other_way_round(
    tmp_path: Path, tree: list[Path]
) -> None:
    cache = StatCache(tmp_path / "cache.sqlite")
    hash_files(tree, cache=cache, root=tmp_path / "data")  # one source: the folder
    single = str(tree[0])
    st = tree[0].stat()
    digest = "blake3:" + blake3(tree[0].read_bytes()).hexdigest()
    cache.save_source(
        single, str(tree[0].parent), [(tree[0].name, st.st_size, st.st_mtime_ns, st.st_ino)], [digest], digest
    )
    assert list(cache.load(single)) == [single]
    assert sorted(cache.load(tmp_path)) == sorted(str(p) for p in tree)
    again = hash_files(tree[1:], cache=cache, root=tmp_path / "data")  # the rest is still cached
    assert (again.hashed, again.cached) == (0, len(tree) - 1)
