"""The no-change status from the status files, against the service that knows better.

The one rule: when :func:`quick_status` says a source is clean, the service says so too.
Whatever it cannot be sure of (a change, a doubt, a stale or damaged file) is None, and
the full status then answers (and writes the status file again when nothing changed).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.datasets.quick_status import latest_heads, quick_status, reports
from shipyard.datasets.service import DatasetService
from shipyard.datasets.statusfile import read_status, status_file, unchanged_count, write_status
from shipyard.datasets.store.sql import SqlDatasetStore
from shipyard.datasets.store.sqlite_reader import latest_versions, sqlite_path
from shipyard.storage.cas import ContentStore

OLD = time.time() - 3600  # out of every racy window


def write(path: Path, data: bytes | str, age_s: float = 60) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    past = time.time() - age_s
    os.utime(path, (past, past))
    return path


def settle(root: Path) -> Path:
    """Date every folder under ``root`` (and ``root``) an hour back, as if made long ago."""
    for folder in [root, *[p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()]]:
        os.utime(folder, (OLD, OLD))
    return root


def make_folder(root: Path) -> Path:
    write(root / "a.txt", "alpha")
    write(root / "sub/b.txt", "beta")
    write(root / "sub/deeper/c.bin", b"\x00\x01")
    (root / "empty").mkdir()
    return settle(root)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"  # the service fixture's home: its status files are there


def clean(sqlite_uri: str, home: Path, name: str | None = None) -> list[object] | None:
    found = quick_status(sqlite_uri, home, name)
    return None if found is None else list(reports(found))


def test_clean_sources_are_reported_as_the_service_reports_them(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    service.add(write(tmp_path / "one.csv", "id\n1\n"), "one")
    assert clean(sqlite_uri, home, "sales") == [service.status("sales")]
    assert clean(sqlite_uri, home) == [service.status("one"), service.status("sales")]
    assert quick_status(sqlite_uri, home, "sales") == [("sales@1", str(tmp_path / "data"), 3)]


def replace_keeping_stats(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file renamed over ``path``, with the old size and mtime."""
    before = path.stat()
    new = path.with_name(path.name + ".new")
    new.write_bytes(data)
    os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))
    new.replace(path)


def touch_folder_back(folder: Path) -> None:
    """Change the entries of ``folder``, then set its mtime back as it was (its ctime moves on)."""
    before = folder.stat()
    (folder / "new.txt").write_text("new")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))


CHANGES: dict[str, Callable[[Path], object]] = {
    "modified": lambda root: write(root / "a.txt", "ALPHA"),  # same size, new content and mtime
    "added": lambda root: write(root / "sub/new.txt", "new"),
    "added-in-empty-folder": lambda root: write(root / "empty/new.txt", "new"),
    "removed": lambda root: (root / "sub/b.txt").unlink(),
    "renamed": lambda root: (root / "sub/b.txt").rename(root / "sub/B.txt"),
    "touched": lambda root: os.utime(root / "a.txt", (time.time() - 30, time.time() - 30)),
    "same-size-and-mtime-new-inode": lambda root: replace_keeping_stats(root / "a.txt", b"ALPHA"),
    "folder-mtime-set-back": lambda root: touch_folder_back(root / "sub"),
    "file-became-folder": lambda root: ((root / "a.txt").unlink(), (root / "a.txt").mkdir()),
    "folder-became-file": lambda root: (shutil.rmtree(root / "sub/deeper"), write(root / "sub/deeper", "x")),
    "symlink": lambda root: (root / "link").symlink_to(root / "a.txt"),
    "fifo": lambda root: os.mkfifo(root / "pipe"),
    "source-gone": lambda root: shutil.rmtree(root),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_any_change_or_doubt_leaves_it_to_the_service(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path, change: Callable[[Path], object]
) -> None:
    root = make_folder(tmp_path / "data")
    service.add(root, "sales")
    assert quick_status(sqlite_uri, home, "sales") is not None
    change(root)
    assert quick_status(sqlite_uri, home, "sales") is None
    assert quick_status(sqlite_uri, home) is None


def test_a_changed_single_file_source_is_left_to_the_service(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "one.csv", "id\n1\n")
    service.add(source, "one")
    assert quick_status(sqlite_uri, home, "one") is not None
    replace_keeping_stats(source, b"id\n2\n")
    assert quick_status(sqlite_uri, home, "one") is None
    assert service.status("one").modified == ["one.csv"]


def test_a_clean_status_by_the_service_writes_the_status_file_again(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    root = make_folder(tmp_path / "data")
    service.add(root, "sales")
    os.utime(root / "a.txt", (time.time() - 30, time.time() - 30))  # touched: same content
    assert quick_status(sqlite_uri, home, "sales") is None
    report = service.status("sales")
    assert report.clean and report.hashed == 1
    assert clean(sqlite_uri, home, "sales") == [report.__class__(**{**vars(report), "hashed": 0})]


def test_a_status_with_changes_drops_the_status_file(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    root = make_folder(tmp_path / "data")
    service.add(root, "sales")
    write(root / "a.txt", "changed")
    assert not service.status("sales").clean
    assert read_status(home, "sales") is None
    write(root / "a.txt", "alpha", age_s=3600)
    settle(root)
    assert service.status("sales").clean
    assert quick_status(sqlite_uri, home, "sales") is not None


def test_files_written_within_the_racy_window_get_no_status_file(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    write(root / "fresh.txt", "just written", age_s=0)
    service.add(root, "sales")
    assert read_status(home, "sales") is None
    assert quick_status(sqlite_uri, home, "sales") is None
    assert service.status("sales").clean


def test_a_folder_changed_within_the_racy_window_is_listed_again(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    write(root / "sub/a.txt", "alpha")  # old files in folders just made: the folders are racy
    service.add(root, "sales")
    assert quick_status(sqlite_uri, home, "sales") is not None  # listed: same names
    before = (root / "sub").stat()
    write(root / "sub/new.txt", "new")
    os.utime(root / "sub", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert quick_status(sqlite_uri, home, "sales") is None


def test_an_older_version_or_another_source_does_not_match_the_status_file(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    other = make_folder(tmp_path / "other")
    write(other / "extra.txt", "x")
    settle(other)
    service.add(other, "sales")
    assert [r[0] for r in quick_status(sqlite_uri, home, "sales") or []] == ["sales@2"]
    service.add(tmp_path / "data", "sales")  # the same content as version 1: a version 3
    assert [r[0] for r in quick_status(sqlite_uri, home, "sales") or []] == ["sales@3"]
    assert service.status("sales@2").clean  # an explicit version leaves the status file alone
    assert [r[0] for r in quick_status(sqlite_uri, home, "sales") or []] == ["sales@3"]


def test_the_same_content_added_from_elsewhere_drops_the_status_file(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    assert service.add(settle(tmp_path / "copy"), "sales").version == 1  # unchanged: no new version
    assert quick_status(sqlite_uri, home, "sales") is None  # its source is "data", not "copy"
    assert service.status("sales").clean
    assert quick_status(sqlite_uri, home, "sales") is not None


DAMAGE: dict[str, Callable[[Path], object]] = {
    "truncated": lambda f: f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2]),
    "garbage": lambda f: f.write_bytes(b"\x00not marshal data\xff" * 10),
    "empty": lambda f: f.write_bytes(b""),
    "not-a-record": lambda f: f.write_bytes(__import__("marshal").dumps({"a": 1})),
    "another-format": lambda f: f.write_bytes(
        __import__("marshal").dumps(((0, "x", 0), *__import__("marshal").loads(f.read_bytes())[1:]))
    ),
    "malformed-folders": lambda f: f.write_bytes(
        __import__("marshal").dumps((*__import__("marshal").loads(f.read_bytes())[:6], [("x", 1)]))
    ),
    "a-folder": lambda f: (f.unlink(), f.mkdir()),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_status_file_is_ignored_and_written_again(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path, damage: Callable[[Path], object]
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    damage(Path(status_file(home, "sales")))
    assert quick_status(sqlite_uri, home, "sales") is None
    if Path(status_file(home, "sales")).is_dir():
        Path(status_file(home, "sales")).rmdir()
    assert service.status("sales").clean
    assert quick_status(sqlite_uri, home, "sales") is not None


def test_the_status_file_of_another_dataset_is_not_taken(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    service.add(make_folder(tmp_path / "other"), "other")
    shutil.copyfile(status_file(home, "other"), status_file(home, "sales"))
    assert quick_status(sqlite_uri, home, "sales") is None


def test_a_source_scanned_through_symlinks_gets_no_status_file(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    root = make_folder(tmp_path / "data")
    (root / "link.txt").symlink_to(root / "a.txt")
    service.add(root, "sales")
    assert read_status(home, "sales") is None
    assert quick_status(sqlite_uri, home, "sales") is None
    assert service.status("sales").clean


def test_writing_refuses_files_outside_the_scanned_folders(tmp_path: Path, service: DatasetService) -> None:
    from shipyard.datasets.snapshot import FolderStat, SourceFile

    folders = [FolderStat(str(tmp_path), 1, 1, 1, [])]
    files = [SourceFile(str(tmp_path / "elsewhere" / "f"), "elsewhere/f", 1, 1, 1)]
    head = ("x", 1, "blake3:" + "0" * 64, "folder", str(tmp_path))
    assert not write_status(tmp_path / "home", head, files, folders, time.time_ns())
    assert not write_status(tmp_path / "home", head, files, [], time.time_ns())


@pytest.mark.parametrize(
    "changed", [None, "top.txt", "d0/f1.txt", "d1/f0.txt", "d2/deep/f2.txt", "d3/f2.txt"]
)
def test_checking_on_several_processes_agrees_with_checking_alone(
    service: DatasetService, home: Path, tmp_path: Path, changed: str | None
) -> None:
    root = tmp_path / "data"
    write(root / "top.txt", "top")
    for folder in ("d0", "d1", "d2/deep", "d3"):
        for i in range(3):
            write(root / folder / f"f{i}.txt", f"{folder}{i}")
    service.add(settle(root), "sales")
    record = read_status(home, "sales")
    assert record is not None
    if changed is not None:
        write(root / changed, "changed!")
    expected = None if changed else 13
    assert unchanged_count(record[6]) == expected
    for workers in (2, 3, 8):
        assert unchanged_count(record[6], workers=workers, parallel_min=0) == expected


def age_database(sqlite_uri: str) -> None:
    """Date the database files back, as if the last write was long ago (out of the racy window)."""
    path = sqlite_path(sqlite_uri)
    assert path is not None
    for each in (path, path + "-wal"):
        if Path(each).exists():
            os.utime(each, (OLD, OLD))


def test_heads_come_from_the_heads_file_only_while_the_database_is_unchanged(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    assert latest_heads(sqlite_uri, home, "sales") == [
        tuple(h) for h in latest_versions(sqlite_uri, "sales") or []
    ]
    assert not Path(status_file(home, ".heads")).exists()  # the database was just written
    age_database(sqlite_uri)
    first = latest_heads(sqlite_uri, home, "sales")
    assert Path(status_file(home, ".heads")).exists()
    assert latest_heads(sqlite_uri, home, "sales") == first
    assert latest_heads(sqlite_uri, home) == first  # every dataset: read once more, then known
    write(tmp_path / "data/a.txt", "new content")
    service.add(tmp_path / "data", "sales")  # the database changes
    assert [h[1] for h in latest_heads(sqlite_uri, home, "sales") or []] == [2]
    assert latest_heads(sqlite_uri, home, "nope") is None


def test_a_damaged_heads_file_is_ignored(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    age_database(sqlite_uri)
    expected = latest_heads(sqlite_uri, home, "sales")
    Path(status_file(home, ".heads")).write_bytes(b"\x01garbage")
    assert latest_heads(sqlite_uri, home, "sales") == expected
    assert quick_status(sqlite_uri, home, "sales") is not None


def test_unknown_names_other_databases_and_no_status_file_are_not_answered(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    assert quick_status(f"sqlite:///{tmp_path / 'none.db'}", home) is None  # no database file
    service.add(make_folder(tmp_path / "data"), "sales")
    assert quick_status(sqlite_uri, home, "nope") is None
    assert quick_status("postgresql+psycopg://u@h/db", home, "sales") is None
    assert quick_status(sqlite_uri, tmp_path / "elsewhere", "sales") is None  # no status file there


def test_no_dataset_at_all_is_an_empty_answer(tmp_path: Path, home: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    SqlDatasetStore(uri).close()  # a database with the schema and no dataset
    assert quick_status(uri, home) == []


def test_latest_versions_agrees_with_the_store(
    service: DatasetService, sqlite_uri: str, tmp_path: Path
) -> None:
    for i, name in enumerate(["b", "a", "c"]):
        for j in range(i + 1):
            write(tmp_path / name / "f.txt", f"{name}{j}")
            service.add(tmp_path / name, name)
    heads = latest_versions(sqlite_uri)
    assert heads is not None and [h.name for h in heads] == ["a", "b", "c"]
    for head in heads:
        latest = service.get(head.name)
        assert (head.ref, head.digest, head.kind, head.source_path) == (
            latest.ref,
            latest.digest,
            latest.kind,
            latest.source_path,
        )
    assert latest_versions(sqlite_uri, "c") == [heads[2]]
    assert sqlite_path("sqlite:///rel/x.db?mode=ro") is None


names = st.text(alphabet="abcXYZ09_-.", min_size=1, max_size=5).filter(lambda n: not n.startswith("."))
trees = st.dictionaries(
    st.lists(names, min_size=1, max_size=3).map("/".join), st.binary(max_size=50), min_size=1
)


def mutate(root: Path, kind: int, pick: int, data: bytes) -> None:
    """One change to the tree under ``root``: some change its content, some only its stats."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    folders = sorted([root, *[p for p in root.rglob("*") if p.is_dir()]])
    target, folder = files[pick % len(files)], folders[pick % len(folders)]
    if kind == 0:
        write(target, data, age_s=30)
    elif kind == 1:
        target.unlink()
    elif kind == 2:
        write(folder / f"new-{pick}.txt", data, age_s=30)
    elif kind == 3:
        (folder / f"dir-{pick}").mkdir()
    elif kind == 4:
        replace_keeping_stats(target, data)
    else:
        os.utime(target, (time.time() - 30, time.time() - 30))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees, kind=st.integers(0, 5), pick=st.integers(0, 100), data=st.binary(max_size=50))
def test_whenever_the_quick_status_says_clean_the_service_agrees(
    tmp_path: Path,
    content: ContentStore,
    sqlite_uri: str,
    tree: dict[str, bytes],
    kind: int,
    pick: int,
    data: bytes,
) -> None:
    case = tmp_path / uuid.uuid4().hex
    root = case / "data"
    root.mkdir(parents=True)
    for logical, body in tree.items():
        try:
            write(root / logical, body, age_s=3600)
        except (IsADirectoryError, NotADirectoryError, FileExistsError):
            continue
    if not any(p.is_file() for p in root.rglob("*")):
        return
    settle(root)
    uri = f"sqlite:///{case / 'meta.db'}"
    store = SqlDatasetStore(uri)
    try:
        service = DatasetService(store, content, home=case / "home")
        service.add(root, "d")
        assert quick_status(uri, case / "home", "d") == [("d@1", str(root), len(service.get("d").files))]
        mutate(root, kind, pick, data)
        quick = quick_status(uri, case / "home", "d")
        try:
            full = service.status("d")
        except InvalidInputError:  # the last file removed: the folder is empty
            assert quick is None
            return
        if quick is not None:
            assert full.clean and quick == [("d@1", str(root), full.unchanged_count)]
    finally:
        store.close()
