"""The no-change status from two SQLite files and one scan, against the service that knows better."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.datasets.quick_status import quick_listing, quick_status, source_listing
from shipyard.datasets.service import DatasetService
from shipyard.datasets.snapshot import scan_folder
from shipyard.datasets.store.sql import SqlDatasetStore
from shipyard.datasets.store.sqlite_reader import latest_versions, sqlite_path


def write(path: Path, data: bytes | str, age_s: float = 60) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    past = time.time() - age_s
    os.utime(path, (past, past))
    return path


def make_folder(root: Path) -> Path:
    write(root / "a.txt", "alpha")
    write(root / "sub/b.txt", "beta")
    write(root / "sub/deeper/c.bin", b"\x00\x01")
    return root


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"  # the service fixture's home: its stat cache is there


def test_clean_sources_are_reported_as_the_service_reports_them(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    service.add(write(tmp_path / "one.csv", "id\n1\n"), "one")
    assert quick_status(sqlite_uri, home, "sales") == [service.status("sales")]
    assert quick_status(sqlite_uri, home) == [service.status("one"), service.status("sales")]


@pytest.mark.parametrize(
    "change",
    [
        lambda root: write(root / "a.txt", "ALPHA"),  # same size, new content and mtime
        lambda root: write(root / "sub/new.txt", "new"),
        lambda root: (root / "sub/b.txt").unlink(),
        lambda root: os.utime(root / "a.txt", (time.time() - 30, time.time() - 30)),  # touched only
        lambda root: (root / "link").symlink_to(root / "a.txt"),
        lambda root: os.mkfifo(root / "pipe"),
    ],
    ids=["modified", "added", "removed", "touched", "symlink", "fifo"],
)
def test_any_change_or_doubt_leaves_it_to_the_service(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path, change: object
) -> None:
    root = make_folder(tmp_path / "data")
    service.add(root, "sales")
    change(root)  # type: ignore[operator]
    assert quick_status(sqlite_uri, home, "sales") is None
    assert quick_status(sqlite_uri, home) is None


def test_a_clean_status_by_the_service_records_the_listing_again(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    root = make_folder(tmp_path / "data")
    service.add(root, "sales")
    os.utime(root / "a.txt", (time.time() - 30, time.time() - 30))  # touched: same content
    assert quick_status(sqlite_uri, home, "sales") is None
    report = service.status("sales")
    assert report.clean and report.hashed == 1
    assert quick_status(sqlite_uri, home, "sales") == [report.__class__(**{**vars(report), "hashed": 0})]


def test_files_written_within_the_racy_window_are_not_trusted(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    write(root / "fresh.txt", "just written", age_s=0)
    service.add(root, "sales")
    assert quick_status(sqlite_uri, home, "sales") is None
    assert service.status("sales").clean


def test_a_new_version_from_elsewhere_is_not_the_recorded_listing(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    other = make_folder(tmp_path / "other")
    write(other / "extra.txt", "x")
    service.add(other, "sales")
    assert quick_status(sqlite_uri, home, "sales") is not None  # the latest came from "other"
    service.add(tmp_path / "data", "sales")  # the same content as version 1: a version 3
    assert [r.ref for r in quick_status(sqlite_uri, home, "sales") or []] == ["sales@3"]


def test_unknown_names_other_databases_and_no_cache_are_not_answered(
    service: DatasetService, sqlite_uri: str, home: Path, tmp_path: Path
) -> None:
    assert quick_status(f"sqlite:///{tmp_path / 'none.db'}", home) is None  # no database file
    service.add(make_folder(tmp_path / "data"), "sales")
    assert quick_status(sqlite_uri, home, "nope") is None
    assert quick_status("postgresql+psycopg://u@h/db", home, "sales") is None
    assert quick_status(sqlite_uri, tmp_path / "elsewhere", "sales") is None  # no stat cache there


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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.dictionaries(st.lists(names, min_size=1, max_size=3).map("/".join), st.binary(max_size=50)))
def test_quick_listing_is_the_listing_of_the_full_scan(tmp_path: Path, tree: dict[str, bytes]) -> None:
    import uuid

    root = tmp_path / uuid.uuid4().hex
    root.mkdir()
    for logical, data in tree.items():
        try:
            write(root / logical, data)
        except (IsADirectoryError, NotADirectoryError, FileExistsError):
            continue
    quick = quick_listing(str(root))
    full = scan_folder(root)
    assert quick == (source_listing(full), len(full))
