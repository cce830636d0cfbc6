"""The dataset service on SQLite and a local folder: add, dedup, bad input, status, checkout, load, gc."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from shipyard.core.errors import BackendUnavailable, ConflictError, InvalidInputError, NotFoundError
from shipyard.datasets import hashing
from shipyard.datasets.service import DatasetService
from shipyard.governance.service import AuditService
from shipyard.storage.cas import ContentStore
from shipyard.storage.packs import PACK_THRESHOLD


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    past = time.time() - 60  # out of the stat cache's racy window
    os.utime(path, (past, past))
    return path


def make_folder(root: Path) -> Path:
    write(root / "a.csv", "id,amount\n1,10.5\n2,20.0\n")
    write(root / "b.csv", "id,amount\n3,1.0\n")
    write(root / "notes/readme.txt", "hello")
    write(root / "notes/copy.txt", "hello")  # same content as readme.txt
    return root


def blobs(content: ContentStore) -> set[str]:
    return set(content.iter_digests())


def test_add_folder(
    service: DatasetService, content: ContentStore, audit: AuditService, tmp_path: Path
) -> None:
    version = service.add(make_folder(tmp_path / "data"), "sales", message="first")
    assert (version.name, version.version, version.kind, version.message) == ("sales", 1, "folder", "first")
    assert [f.path for f in version.files] == ["a.csv", "b.csv", "notes/copy.txt", "notes/readme.txt"]
    assert version.size == sum(f.size for f in version.files)
    assert version.row_count == 3 and set(version.schema) == {"a.csv", "b.csv"}
    assert version.source_path == str((tmp_path / "data").absolute())
    assert len(blobs(content)) == 3  # the two notes share one blob
    assert [e.action for e in audit.list_events()] == ["dataset.add"]
    assert service.get("sales") == service.get("sales@1") == version


def test_identical_content_is_stored_once(
    service: DatasetService, content: ContentStore, tmp_path: Path
) -> None:
    first = service.add(make_folder(tmp_path / "data"), "sales")
    same_elsewhere = service.add(make_folder(tmp_path / "copy"), "sales")
    assert same_elsewhere == first  # same content from another folder: the same version
    write(tmp_path / "data/b.csv", "id,amount\n3,2.0\n")
    second = service.add(tmp_path / "data", "sales")
    assert second.version == 2 and len(blobs(content)) == 4
    single = service.add(tmp_path / "data/a.csv", "a-only")
    assert (single.kind, [f.path for f in single.files]) == ("file", ["a.csv"])
    assert len(blobs(content)) == 4  # a.csv is already stored


def test_unchanged_add_creates_nothing(
    service: DatasetService, content: ContentStore, audit: AuditService, tmp_path: Path
) -> None:
    first = service.add(make_folder(tmp_path / "data"), "sales")
    before = (blobs(content), len(audit.list_events()))
    assert service.add(tmp_path / "data", "sales", message="again") == first
    assert (blobs(content), len(audit.list_events())) == before
    assert [v.version for v in service.versions("sales")] == [1]


@pytest.mark.parametrize(
    ("setup", "named"),
    [
        (lambda root: None, "missing"),
        (lambda root: root.mkdir(), "missing"),
        (lambda root: (root.mkdir(), (root / "sub").mkdir()), "missing"),
        (lambda root: (make_folder(root), (root / "broken.csv").symlink_to(root / "nowhere")), "broken.csv"),
        (lambda root: (make_folder(root), os.mkfifo(root / "pipe.csv")), "pipe.csv"),
        (lambda root: (make_folder(root), write(root / "bad.parquet", b"PAR1 not really")), "bad.parquet"),
        (lambda root: (make_folder(root), write(root / "ragged.csv", "a,b\n1,2\n3\n")), "ragged.csv"),
    ],
    ids=[
        "missing-path",
        "empty-folder",
        "only-empty-subfolder",
        "broken-symlink",
        "fifo",
        "corrupt-parquet",
        "ragged-csv",
    ],
)
def test_bad_input_names_the_file_and_creates_nothing(
    service: DatasetService, content: ContentStore, tmp_path: Path, setup: object, named: str
) -> None:
    root = tmp_path / "missing"
    setup(root)  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match=named):
        service.add(root, "sales")
    assert service.list() == [] and blobs(content) == set()


def test_a_special_file_or_broken_link_as_the_path(service: DatasetService, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InvalidInputError, match=r"pipe.*not a regular file"):
        service.add(tmp_path / "pipe", "x")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InvalidInputError, match=r"link.*broken symlink"):
        service.add(tmp_path / "link", "x")


def test_a_symlink_leaving_the_folder_is_refused(service: DatasetService, tmp_path: Path) -> None:
    root = make_folder(tmp_path / "data")
    (root / "out.txt").symlink_to(write(tmp_path / "secret.txt", "s"))
    with pytest.raises(InvalidInputError, match="outside the folder"):
        service.add(root, "x")


def test_interrupted_add_leaves_orphans_a_later_add_reuses(
    service: DatasetService, content: ContentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_folder(tmp_path / "data")

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(service.store, "create_version", crash)
        with pytest.raises(KeyboardInterrupt):
            service.add(root, "sales")
    orphans = blobs(content)
    assert len(orphans) == 3 and service.list() == []
    assert set(service.gc(dry_run=True).orphans) == orphans
    stored = sorted(content.blobs.list_keys())
    version = service.add(root, "sales")
    assert version.version == 1 and sorted(content.blobs.list_keys()) == stored  # all there already
    assert service.gc(dry_run=True).orphans == []


def test_status_uses_the_stat_cache(
    service: DatasetService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_folder(tmp_path / "data")
    service.add(root, "sales")
    reads: list[Path] = []
    real = hashing.read_small
    monkeypatch.setattr(hashing, "read_small", lambda p, size=0: reads.append(p) or real(p, size))
    clean = service.status("sales")
    assert clean.clean and clean.unchanged_count == 4 and clean.hashed == 0 and reads == []
    write(root / "a.csv", "id,amount\n1,10.5\n2,20.1\n")
    write(root / "c.csv", "id,amount\n9,9.0\n")
    (root / "notes/copy.txt").unlink()
    report = service.status("sales")
    assert (report.added, report.removed, report.modified) == (["c.csv"], ["notes/copy.txt"], ["a.csv"])
    assert (
        report.unchanged_count == 2
        and report.hashed == 2
        and sorted(Path(p).name for p in reads) == ["a.csv", "c.csv"]
    )


def test_status_of_a_single_file_and_of_a_vanished_source(service: DatasetService, tmp_path: Path) -> None:
    file = write(tmp_path / "one.csv", "id\n1\n")
    service.add(file, "one")
    assert service.status("one").clean
    write(file, "id\n2\n")
    assert service.status("one").modified == ["one.csv"]
    file.unlink()
    with pytest.raises(InvalidInputError, match="no longer exists"):
        service.status("one")


BIG = bytes(range(256)) * (PACK_THRESHOLD // 256 + 1)  # stored loose, not in a pack


def test_checkout_hard_links_loose_blobs_read_only_and_copies_packed_ones(
    service: DatasetService, content: ContentStore, tmp_path: Path
) -> None:
    root = make_folder(tmp_path / "data")
    write(root / "big.bin", BIG)
    version = service.add(root, "sales")
    written = service.checkout("sales@1", tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == [f.path for f in version.files]
    assert (tmp_path / "out/notes/readme.txt").read_text() == "hello"
    assert (tmp_path / "out/big.bin").read_bytes() == BIG
    big = next(f for f in version.files if f.path == "big.bin")
    blob = content.blobs.root / content.key_for(big.digest)  # type: ignore[attr-defined]
    linked = tmp_path / "out/big.bin"
    assert linked.stat().st_ino == blob.stat().st_ino
    assert not linked.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    copied = tmp_path / "out/a.csv"  # small: it lives in a pack, so it is a copy of its own
    assert copied.stat().st_nlink == 1 and copied.read_text().startswith("id,amount")
    with pytest.raises(ConflictError, match="not empty"):
        service.checkout("sales", tmp_path / "out")
    assert len(service.checkout("sales", tmp_path / "out", force=True)) == 5


def test_checkout_copies_when_links_fail(
    service: DatasetService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")

    def no_link(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    written = service.checkout("sales", tmp_path / "out")
    assert written[0].read_text().startswith("id,amount") and written[0].stat().st_nlink == 1


def test_checkout_refuses_a_corrupt_packed_content(
    service: DatasetService, content: ContentStore, tmp_path: Path
) -> None:
    version = service.add(make_folder(tmp_path / "data"), "sales")
    where = content.packs.find(version.files[0].digest.removeprefix("blake3:"))
    assert where is not None
    pack = content.blobs.root / where.pack_key  # type: ignore[attr-defined]
    data = bytearray(pack.read_bytes())
    data[where.offset : where.offset + where.length] = b"id,amount\n1,99.9\n2,20.0\n"
    pack.write_bytes(bytes(data))
    with pytest.raises(BackendUnavailable, match="corrupt"):
        service.checkout("sales", tmp_path / "out")
    assert not (tmp_path / "out/a.csv").exists()


def test_checkout_refuses_a_corrupt_loose_blob(
    service: DatasetService, content: ContentStore, tmp_path: Path
) -> None:
    version = service.add(write(tmp_path / "big.bin", BIG), "big")
    blob = content.blobs.root / content.key_for(version.files[0].digest)  # type: ignore[attr-defined]
    blob.write_bytes(BIG[::-1])
    with pytest.raises(BackendUnavailable, match="corrupt"):
        service.checkout("big", tmp_path / "out")
    assert not (tmp_path / "out/big.bin").exists()


def test_local_path_is_cached_and_verified(service: DatasetService, tmp_path: Path) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    service.add(write(tmp_path / "one.csv", "id\n1\n"), "one")
    folder = service.local_path("sales")
    assert folder.is_dir() and (folder / "notes/readme.txt").read_text() == "hello"
    assert folder.parent == tmp_path / "home/cache/datasets"
    inode = (folder / "a.csv").stat().st_ino
    assert service.local_path("sales@1") == folder and (folder / "a.csv").stat().st_ino == inode
    single = service.local_path("one")
    assert single.name == "one.csv" and single.read_text() == "id\n1\n"


def test_load(service: DatasetService, tmp_path: Path) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    frame = service.load("sales")
    assert list(frame["id"]) == [1, 2, 3] and list(frame.columns) == ["id", "amount"]
    table = service.load("sales@1", format="arrow")
    assert table.num_rows == 3 and table.column_names == ["id", "amount"]
    assert service.load("sales", format="path") == service.local_path("sales")
    with pytest.raises(InvalidInputError, match="unknown format"):
        service.load("sales", format="excel")


def test_load_parquet_single_file(service: DatasetService, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1.5, 2.5]}), tmp_path / "t.parquet")
    service.add(tmp_path / "t.parquet", "pq")
    assert service.load("pq")["x"].tolist() == [1.5, 2.5]


def test_load_refuses_non_tabular_and_mixed_schemas(service: DatasetService, tmp_path: Path) -> None:
    service.add(write(tmp_path / "blob.bin", b"\x00\x01"), "binary")
    with pytest.raises(InvalidInputError, match="no tabular file"):
        service.load("binary")
    assert service.load("binary", format="path").read_bytes() == b"\x00\x01"
    write(tmp_path / "mixed/a.csv", "id\n1\n")
    write(tmp_path / "mixed/b.csv", "name\nx\n")
    service.add(tmp_path / "mixed", "mixed")
    with pytest.raises(InvalidInputError, match="another schema"):
        service.load("mixed")


def test_gc_dry_run_then_delete(service: DatasetService, content: ContentStore, tmp_path: Path) -> None:
    service.add(make_folder(tmp_path / "data"), "sales")
    referenced = blobs(content)
    orphan = content.put_bytes(b"left over")
    artifact = content.put_bytes(b"a run artifact")
    dry = service.gc(keep={artifact})
    assert (dry.orphans, dry.bytes, dry.deleted) == ([orphan], len(b"left over"), False)
    assert orphan in blobs(content)
    done = service.gc(dry_run=False, keep={artifact})
    assert done.deleted and done.orphans == [orphan]
    assert blobs(content) == referenced | {artifact}
    assert service.load("sales").shape == (3, 2)


def test_diff(service: DatasetService, tmp_path: Path) -> None:
    root = make_folder(tmp_path / "data")
    service.add(root, "sales")
    write(root / "a.csv", "id,amount,note\n1,30.5,x\n2,20.0,y\n")
    (root / "notes/copy.txt").unlink()
    write(root / "new.txt", "n")
    service.add(root, "sales")
    diff = service.diff("sales@1", "sales@2")
    assert [f.path for f in diff.added] == ["new.txt"] and [f.path for f in diff.removed] == [
        "notes/copy.txt"
    ]
    assert [c.path for c in diff.changed] == ["a.csv"] and diff.unchanged_count == 2
    assert [c for c, _ in diff.schema_changes["a.csv"].added] == ["note"]
    mean = diff.profile_deltas["a.csv"]["amount"]["mean"]
    assert mean == pytest.approx((15.25, 25.25, 10.0))
    assert diff.row_count == (3, 3) and diff.to_dict()["changed"][0]["path"] == "a.csv"
    assert service.diff("sales@2", "sales").identical


def test_refs_and_missing_versions(service: DatasetService, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="'sales'"):
        service.get("sales")
    service.add(make_folder(tmp_path / "data"), "sales")
    with pytest.raises(NotFoundError, match="version 7"):
        service.get("sales@7")
    with pytest.raises(InvalidInputError, match="NAME@VERSION"):
        service.get("sales@x")
    with pytest.raises(InvalidInputError, match="dataset name"):
        service.add(tmp_path / "data", "bad name")


def test_an_unreadable_file_is_named_and_nothing_is_created(
    service: DatasetService, content: ContentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_folder(tmp_path / "data")
    real = hashing.read_small

    def denied(path: Path | str, size: int = 0) -> bytes:  # as root, chmod 000 does not stop a read
        if Path(path).name == "b.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, size)

    monkeypatch.setattr(hashing, "read_small", denied)
    with pytest.raises(InvalidInputError, match=r"b\.csv.*Permission denied"):
        service.add(root, "sales")
    assert service.list() == [] and blobs(content) == set()


def crash(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


def pack_keys(content: ContentStore) -> list[str]:
    return sorted(content.blobs.list_keys("cas/packs/"))


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".shipyard-tmp")]


def test_small_files_share_a_pack_and_big_ones_stay_loose(
    service: DatasetService, content: ContentStore, tmp_path: Path
) -> None:
    root = make_folder(tmp_path / "data")
    write(root / "big.bin", BIG)
    version = service.add(root, "sales")
    packs = pack_keys(content)
    assert [k.rsplit(".", 1)[1] for k in packs] == ["idx", "pack"]
    big = next(f for f in version.files if f.path == "big.bin")
    assert set(content.blobs.list_keys()) - set(packs) == {content.key_for(big.digest)}
    write(root / "c.txt", "gamma")
    service.add(root, "sales")
    new = sorted(set(pack_keys(content)) - set(packs))
    assert len(new) == 2 and content.blobs.size(new[1]) == len("gamma")  # only what is new


def test_gc_rewrites_packs_without_their_orphans(
    service: DatasetService, content: ContentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.storage.digests import digest_bytes

    root = make_folder(tmp_path / "data")
    service.add(root, "sales")
    write(root / "orphan.txt", "left over")
    with monkeypatch.context() as patch:  # an add that died before recording its version
        patch.setattr(service.store, "create_version", crash)
        with pytest.raises(KeyboardInterrupt):
            service.add(root, "sales")
    orphan = digest_bytes(b"left over")
    assert service.gc().orphans == [orphan]
    assert service.gc(dry_run=False).orphans == [orphan]
    assert orphan not in blobs(content) and service.gc().orphans == []
    held = sum(content.blobs.size(k) for k in pack_keys(content) if k.endswith(".pack"))
    assert held == sum({f.digest: f.size for f in service.get("sales").files}.values())
    service.checkout("sales@1", tmp_path / "out")
    assert (tmp_path / "out/notes/readme.txt").read_text() == "hello"


def test_big_files_are_copied_into_the_store_while_they_are_hashed(
    service: DatasetService, content: ContentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.datasets import capture as capture_module

    monkeypatch.setattr(capture_module, "STAGE_THRESHOLD", 1024)
    staged: list[str] = []
    real = content.stage_file
    monkeypatch.setattr(content, "stage_file", lambda path, fp: staged.append(str(path)) or real(path, fp))
    version = service.add(write(tmp_path / "big.bin", BIG), "big")
    assert staged == [str(tmp_path / "big.bin")]
    assert content.get_bytes(version.files[0].digest) == BIG
    keys = sorted(content.blobs.list_keys())
    assert service.add(write(tmp_path / "copy/big.bin", BIG), "big") == version  # same content
    assert len(staged) == 2 and sorted(content.blobs.list_keys()) == keys
    assert temp_files(tmp_path / "artifacts") == []


def test_a_big_file_changed_while_it_is_hashed_is_refused(
    service: DatasetService, content: ContentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.datasets import capture as capture_module

    monkeypatch.setattr(capture_module, "STAGE_THRESHOLD", 1024)
    big = write(tmp_path / "big.bin", BIG)
    real = hashing.read_small

    def read_then_edit(path: Path | str, size: int = 0) -> bytes:
        data = real(path, size)
        big.write_bytes(BIG + b"more")
        return data

    monkeypatch.setattr(hashing, "read_small", read_then_edit)
    with pytest.raises(ConflictError, match="changed while it was being added"):
        service.add(big, "big")
    assert service.list() == [] and blobs(content) == set()
    assert temp_files(tmp_path / "artifacts") == []


def test_capture_then_record_is_add(service: DatasetService, content: ContentStore, tmp_path: Path) -> None:
    from shipyard.datasets.capture import capture, stat_cache_for

    root = make_folder(tmp_path / "data")
    snapshot = capture(root, content, stat_cache_for(tmp_path / "home"))  # no dataset store needed
    assert blobs(content) == set() and service.list() == []
    version = service.record("sales", snapshot, "first")
    assert (version.ref, version.message, version.digest) == ("sales@1", "first", snapshot.digest)
    assert service.get("sales") == version == service.add(root, "sales")
    again = capture(make_folder(tmp_path / "copy"), content, None)
    assert service.record("sales", again) == version  # the same content: nothing new
