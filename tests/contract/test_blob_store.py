"""One contract for every blob store, run unchanged on a local folder and on S3 (moto)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.errors import BackendUnavailable, ConflictError, InvalidInputError, NotFoundError
from shipyard.storage import BlobStore, local, open_blob_store
from shipyard.storage.base import fingerprint
from shipyard.storage.local import LocalBlobStore
from tests.conftest import free_port, service_missing

BINARY = bytes(range(256)) * 4 + b"\x00\r\n\x1a\xff"
MIB = 1024 * 1024

#: A backend's fixture that makes its next transfers fail midway with a driver error.
BreakTransfers = Callable[[], None]


class BlobStoreContract:
    """What every :class:`BlobStore` does; a backend subclasses this and gives ``store`` and
    ``break_transfers``."""

    @pytest.fixture
    def store(self) -> BlobStore:
        raise NotImplementedError

    @pytest.fixture
    def break_transfers(self) -> BreakTransfers:
        raise NotImplementedError

    def test_put_get_bytes(self, store: BlobStore) -> None:
        store.put_bytes("a/b.txt", b"hello")
        assert store.get_bytes("a/b.txt") == b"hello"
        assert store.size("a/b.txt") == 5

    def test_put_get_file(self, store: BlobStore, tmp_path: Path) -> None:
        (tmp_path / "src.bin").write_bytes(BINARY)
        store.put_file("models/m1/weights.bin", tmp_path / "src.bin")
        store.get_file("models/m1/weights.bin", tmp_path / "out" / "copy.bin")
        assert (tmp_path / "out" / "copy.bin").read_bytes() == BINARY
        assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "copy.bin"]

    @pytest.mark.parametrize(
        "sizes",
        [[], [0], [5], [4096, 1, 0, 8191], [MIB + 3, 7, 2 * MIB]],
        ids=["none", "empty", "one", "small", "big"],
    )
    def test_put_parts_stores_their_concatenation(self, store: BlobStore, sizes: list[int]) -> None:
        parts = [os.urandom(n) for n in sizes]
        store.put_parts("packs/p.pack", parts)
        assert store.get_bytes("packs/p.pack") == b"".join(parts)
        assert store.size("packs/p.pack") == sum(sizes)

    def test_binary_and_empty_content(self, store: BlobStore) -> None:
        store.put_bytes("bin", BINARY)
        store.put_bytes("empty", b"")
        assert store.get_bytes("bin") == BINARY
        assert store.get_bytes("empty") == b""
        assert store.size("empty") == 0
        assert store.exists("empty")

    def test_exists_and_delete(self, store: BlobStore) -> None:
        assert not store.exists("k")
        store.put_bytes("k", b"v")
        assert store.exists("k")
        store.delete("k")
        assert not store.exists("k")
        with pytest.raises(NotFoundError):
            store.get_bytes("k")

    def test_missing_key_is_not_found(self, store: BlobStore, tmp_path: Path) -> None:
        for call in (
            lambda: store.get_bytes("no/such"),
            lambda: store.get_file("no/such", tmp_path / "dest"),
            lambda: store.size("no/such"),
            lambda: store.delete("no/such"),
        ):
            with pytest.raises(NotFoundError, match="no/such"):
                call()
        assert not (tmp_path / "dest").exists()
        assert list(tmp_path.iterdir()) == []

    def test_a_folder_of_keys_is_not_a_key(self, store: BlobStore) -> None:
        store.put_bytes("dir/leaf", b"x")
        assert not store.exists("dir")
        with pytest.raises(NotFoundError):
            store.get_bytes("dir")
        with pytest.raises(NotFoundError):
            store.size("dir")

    def test_overwrite_replaces_content(self, store: BlobStore, tmp_path: Path) -> None:
        store.put_bytes("k", b"first, longer value")
        store.put_bytes("k", b"second")
        assert store.get_bytes("k") == b"second"
        (tmp_path / "f").write_bytes(b"third")
        store.put_file("k", tmp_path / "f")
        assert store.get_bytes("k") == b"third"
        assert list(store.list_keys()) == ["k"]

    def test_list_keys_and_prefixes(self, store: BlobStore) -> None:
        assert list(store.list_keys()) == []
        keys = ["a.txt", "ab/c", "ab/d/e", "abc", "b/x", "cas/00/ff", "cas/01/aa"]
        for key in keys:
            store.put_bytes(key, key.encode())
        assert sorted(store.list_keys()) == keys
        assert sorted(store.list_keys("ab")) == ["ab/c", "ab/d/e", "abc"]
        assert sorted(store.list_keys("ab/")) == ["ab/c", "ab/d/e"]
        assert sorted(store.list_keys("ab/d")) == ["ab/d/e"]
        assert sorted(store.list_keys("cas/0")) == ["cas/00/ff", "cas/01/aa"]
        assert list(store.list_keys("zzz/")) == []
        assert list(store.list_keys("zzz")) == []

    def test_large_file(self, store: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(8 * MIB)
        (tmp_path / "big").write_bytes(data)
        store.put_file("big/blob", tmp_path / "big")
        assert store.size("big/blob") == 8 * MIB
        store.get_file("big/blob", tmp_path / "back")
        assert (tmp_path / "back").read_bytes() == data
        assert store.get_bytes("big/blob") == data

    @pytest.mark.parametrize("key", ["", "/abs", "../up", "a//b", "a\\b", "x.shipyard-tmp", "%2e%2e/x"])
    def test_bad_keys_are_invalid_input(self, store: BlobStore, key: str) -> None:
        with pytest.raises(InvalidInputError):
            store.put_bytes(key, b"x")
        with pytest.raises(InvalidInputError):
            store.get_bytes(key)
        assert list(store.list_keys()) == []

    def test_put_of_a_missing_or_non_file_source_fails_cleanly(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        with pytest.raises(InvalidInputError):
            store.put_file("k", tmp_path / "missing")
        with pytest.raises(InvalidInputError):
            store.put_file("k", tmp_path)
        assert not store.exists("k")

    def test_put_file_refuses_a_file_changed_since_its_fingerprint(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        src = tmp_path / "f"
        src.write_bytes(b"one")
        stale = fingerprint(src.stat())
        src.write_bytes(b"one and two")
        with pytest.raises(ConflictError, match="changed while it was being added"):
            store.put_file("k", src, unchanged=stale)
        assert not store.exists("k")
        store.put_file("k", src, unchanged=fingerprint(src.stat()))
        assert store.get_bytes("k") == b"one and two"

    def test_failed_put_leaves_no_key(
        self, store: BlobStore, break_transfers: BreakTransfers, tmp_path: Path
    ) -> None:
        (tmp_path / "big").write_bytes(os.urandom(3 * MIB))
        break_transfers()
        with pytest.raises(BackendUnavailable):
            store.put_file("k/file", tmp_path / "big")
        with pytest.raises(BackendUnavailable):
            store.put_bytes("k/bytes", b"x" * MIB)
        with pytest.raises(BackendUnavailable):
            store.put_parts("k/parts", [b"x" * MIB, b"y" * MIB])
        assert not store.exists("k/file")
        assert not store.exists("k/bytes")
        assert not store.exists("k/parts")
        assert list(store.list_keys()) == []

    def test_failed_overwrite_keeps_the_old_content(
        self, store: BlobStore, break_transfers: BreakTransfers, tmp_path: Path
    ) -> None:
        store.put_bytes("k", b"old")
        (tmp_path / "new").write_bytes(os.urandom(2 * MIB))
        break_transfers()
        with pytest.raises(BackendUnavailable):
            store.put_file("k", tmp_path / "new")
        assert store.get_bytes("k") == b"old"
        assert list(store.list_keys()) == ["k"]

    def test_get_range(self, store: BlobStore) -> None:
        store.put_bytes("r", BINARY)
        assert store.get_range("r", 0, 10) == BINARY[:10]
        assert store.get_range("r", 100, 50) == BINARY[100:150]
        assert store.get_range("r", len(BINARY) - 3, 10) == BINARY[-3:]  # cut where the blob ends
        assert store.get_range("r", 5, 0) == b""
        with pytest.raises(NotFoundError):
            store.get_range("no/such", 0, 1)
        with pytest.raises(InvalidInputError):
            store.get_range("r", -1, 1)

    def test_find_sizes(self, store: BlobStore) -> None:
        store.put_bytes("cas/00/aa", b"12")
        store.put_bytes("cas/01/bb", b"")
        store.put_bytes("top", b"xyz")
        keys = ["cas/00/aa", "cas/00/zz", "cas/01/bb", "cas/ff/cc", "top", "none"]
        assert store.find_sizes(keys) == {"cas/00/aa": 2, "cas/01/bb": 0, "top": 3}
        with pytest.raises(InvalidInputError):
            store.find_sizes(["../up"])

    def test_staged_file_is_stored_on_commit_only(self, store: BlobStore, tmp_path: Path) -> None:
        src = tmp_path / "src.bin"
        src.write_bytes(BINARY)
        staged = store.stage_file(src, fingerprint(src.stat()))
        assert list(store.list_keys()) == []
        staged.commit("staged/blob")
        staged.discard()  # harmless after a commit
        assert store.get_bytes("staged/blob") == BINARY
        dropped = store.stage_file(src, fingerprint(src.stat()))
        dropped.discard()
        assert list(store.list_keys()) == ["staged/blob"]

    def test_staged_file_changed_meanwhile_is_refused(self, store: BlobStore, tmp_path: Path) -> None:
        src = tmp_path / "src.bin"
        src.write_bytes(BINARY)
        staged = store.stage_file(src, fingerprint(src.stat()))
        src.write_bytes(BINARY + b"more")
        with pytest.raises(ConflictError, match="changed while it was being added"):
            staged.commit("k")
        assert list(store.list_keys()) == []
        assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".shipyard-tmp")]

    def test_reopens_from_its_uri(self, store: BlobStore) -> None:
        store.put_bytes("k", b"v")
        endpoint = getattr(store, "endpoint_url", None)
        again = open_blob_store(store.uri, endpoint_url=endpoint)
        assert type(again) is type(store)
        assert again.uri == store.uri
        assert again.get_bytes("k") == b"v"


# -- local folder ------------------------------------------------------------------


class TestLocalBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> BlobStore:
        return LocalBlobStore(tmp_path / "store" / "root")

    @pytest.fixture
    def break_transfers(self, monkeypatch: pytest.MonkeyPatch) -> BreakTransfers:
        """Copies write a first chunk, then the disk is full."""

        def half_then_fail(src: Any, dst: Any, length: int = 0) -> None:
            chunk = src.read(1024)
            dst.write(chunk)
            raise OSError(28, "No space left on device")

        def fd_half_then_fail(src: int, dst: int, size: int) -> None:
            os.write(dst, os.read(src, 1024))
            raise OSError(28, "No space left on device")

        def bytes_half_then_fail(dst: Any, data: bytes) -> None:
            dst.write(data[:1024])
            raise OSError(28, "No space left on device")

        def parts_half_then_fail(dst: Any, parts: Any) -> None:
            dst.write(b"".join(parts)[:1024])
            raise OSError(28, "No space left on device")

        def break_all() -> None:
            monkeypatch.setattr(shutil, "copyfileobj", half_then_fail)
            monkeypatch.setattr(local, "copy_fd", fd_half_then_fail)
            monkeypatch.setattr(local, "write_bytes", bytes_half_then_fail)
            monkeypatch.setattr(local, "write_parts", parts_half_then_fail)

        return break_all

    def test_root_is_created_on_first_write_only(self, tmp_path: Path) -> None:
        store = LocalBlobStore(tmp_path / "later")
        assert not (tmp_path / "later").exists()
        assert list(store.list_keys()) == []
        assert not store.exists("k")
        assert not (tmp_path / "later").exists()
        store.put_bytes("k", b"v")
        assert (tmp_path / "later" / "k").read_bytes() == b"v"

    @pytest.mark.parametrize("extra", [0, 1, 4095, 4097, 123_457])
    @pytest.mark.parametrize("folder", ["tmp", "shm"])
    def test_big_blobs_are_written_around_the_page_cache_byte_for_byte(
        self, tmp_path: Path, extra: int, folder: str
    ) -> None:
        """Direct I/O where the file system has it (the tail padded, then cut), plain writes where not."""
        if folder == "shm":
            if not Path("/dev/shm").is_dir():
                service_missing("/dev/shm (tmpfs)", "mount a tmpfs at /dev/shm")
            root = Path("/dev/shm") / f"shipyard-test-{uuid.uuid4().hex}"
        else:
            root = tmp_path / "store"
        try:
            store = LocalBlobStore(root)
            data = os.urandom(local.DIRECT_COPY_MIN + extra)
            (tmp_path / "src").write_bytes(data)
            store.put_file("blob/file", tmp_path / "src")
            store.put_parts("blob/parts", [data[:100], data[100:5000], data[5000:]])
            assert store.get_bytes("blob/file") == data == store.get_bytes("blob/parts")
            copy = store.stage_file(tmp_path / "src", fingerprint((tmp_path / "src").stat()))
            copy.commit("blob/staged")
            assert store.get_bytes("blob/staged") == data
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def test_a_file_system_that_refuses_direct_io_gets_plain_writes(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import errno
        import fcntl

        write = os.write

        def refusing(fd: int, data: Any) -> int:  # as a file system without O_DIRECT answers
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
                raise OSError(errno.EINVAL, "Invalid argument")
            return write(fd, data)

        store = LocalBlobStore(tmp_path / "store")
        data = os.urandom(local.DIRECT_COPY_MIN + 10)
        (tmp_path / "src").write_bytes(data)
        monkeypatch.setattr(os, "write", refusing)
        store.put_file("blob/file", tmp_path / "src")
        store.put_parts("blob/parts", [data[:7], data[7:]])
        monkeypatch.undo()
        assert store.get_bytes("blob/file") == data == store.get_bytes("blob/parts")

    def test_file_uri_bare_path_and_fsync(self, tmp_path: Path) -> None:
        by_uri = open_blob_store((tmp_path / "s").as_uri())
        by_path = open_blob_store(str(tmp_path / "s"))
        assert isinstance(by_uri, LocalBlobStore)
        assert by_uri.uri == by_path.uri == (tmp_path / "s").as_uri()
        durable = LocalBlobStore(tmp_path / "s", fsync=True)
        durable.put_bytes("a/b", b"x")
        assert by_path.get_bytes("a/b") == b"x"


def test_unknown_scheme_lists_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="known schemes: file, s3"):
        open_blob_store("gs://bucket/prefix")


# -- S3 on a moto server started here ----------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    try:
        import s3fs  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        service_missing("S3 (moto)", f"moto[server] or s3fs is not installed: {exc}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials, no proxy, no user AWS config."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.mark.s3
class TestS3BlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, moto_endpoint: str, s3_env: None) -> BlobStore:
        import boto3

        bucket = f"test-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
        return open_blob_store(f"s3://{bucket}/some/prefix", endpoint_url=moto_endpoint)

    @pytest.fixture
    def break_transfers(self, store: BlobStore, monkeypatch: pytest.MonkeyPatch) -> BreakTransfers:
        """Every upload call to S3 loses its connection."""
        fs: Any = store._fs  # type: ignore[attr-defined]
        real_call = fs._call_s3

        async def flaky_call(method: str, *args: Any, **kwargs: Any) -> Any:
            if method in {"put_object", "upload_part", "complete_multipart_upload"}:
                raise ConnectionResetError(104, "Connection reset by peer")
            return await real_call(method, *args, **kwargs)

        return lambda: monkeypatch.setattr(fs, "_call_s3", flaky_call)

    def test_prefix_isolates_stores(self, store: BlobStore, moto_endpoint: str) -> None:
        store.put_bytes("k", b"inside")
        bucket = store.uri.removeprefix("s3://").split("/")[0]
        outer = open_blob_store(f"s3://{bucket}", endpoint_url=moto_endpoint)
        sibling = open_blob_store(f"s3://{bucket}/some/other", endpoint_url=moto_endpoint)
        assert list(outer.list_keys()) == ["some/prefix/k"]
        assert list(sibling.list_keys()) == []
        assert not sibling.exists("k")

    def test_unreachable_endpoint_is_backend_unavailable(
        self, s3_env: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import s3fs

        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no botocore retries
        monkeypatch.setattr(s3fs.S3FileSystem, "retries", 1)  # nor s3fs ones
        dead = open_blob_store("s3://bucket/x", endpoint_url=f"http://127.0.0.1:{free_port()}")
        with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1"):
            dead.put_bytes("k", b"v")


def test_s3_without_the_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # what an absent package looks like to import
    with pytest.raises(InvalidInputError, match=r"pip install 'shipyard\[s3\]'"):
        open_blob_store("s3://bucket/prefix")


def test_importing_storage_loads_no_backend_driver() -> None:
    drivers = ("s3fs", "fsspec", "boto3", "botocore", "blake3")
    code = f"import sys, shipyard.storage; print(sorted(m for m in {drivers!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
