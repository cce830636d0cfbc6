"""A blob store in a local folder: each key is a file under the root.

Writes go to a temporary file in the key's folder, then a rename (``os.replace``) commits it,
so a crash never leaves a partial blob under a key. The root is created on the
first write, not when the store is opened.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     store = LocalBlobStore(Path(tmp) / "blobs")
...     store.put_bytes("a/b.txt", b"hello")
...     store.get_bytes("a/b.txt"), list(store.list_keys("a/"))
(b'hello', ['a/b.txt'])
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from shipyard.core.errors import BackendUnavailable, ConflictError, InvalidInputError, NotFoundError
from shipyard.storage.base import (
    TEMP_SUFFIX,
    BlobStore,
    Fingerprint,
    StagedFile,
    check_key,
    check_keys,
    check_unchanged,
    temp_sibling,
)

if TYPE_CHECKING:
    import mmap
    from concurrent.futures import Executor

_CHUNK = 1024 * 1024
_WRITE_CHUNK = 8 * 1024 * 1024
_COPY_SLICE = 16 * 1024 * 1024
#: Blobs at least this big are written around the page cache (see :func:`copy_direct`).
DIRECT_COPY_MIN = 16 * 1024 * 1024
_DIRECT_BUFFER = 8 * 1024 * 1024
_DIRECT_ALIGN = 4096  # direct writes start and end on a multiple of any block size in use


def copy_fd(src: int, dst: int, size: int) -> None:
    """Copy ``size`` bytes from ``src`` to the empty ``dst``: a big file with direct I/O, else in the kernel.

    Both are left at the end of the copy.
    """
    done = copy_direct(src, dst, size) if size >= DIRECT_COPY_MIN else 0
    try:
        while done < size:  # in slices: one huge call copies slower on some kernels
            n = os.copy_file_range(src, dst, min(size - done, _COPY_SLICE), done, done)
            if n == 0:
                break
            done += n
    except (AttributeError, OSError):  # an old kernel, another OS, a file system that refuses
        pass
    os.lseek(src, done, os.SEEK_SET)
    os.lseek(dst, done, os.SEEK_SET)
    while chunk := os.read(src, _CHUNK):  # the rest, if any (a file that grew is caught later)
        os.write(dst, chunk)


def copy_direct(src: int, dst: int, size: int) -> int:
    """Copy the first bytes of ``src`` to ``dst`` with ``O_DIRECT`` writes; how many (0 if refused).

    A big blob written through the page cache needs as many free pages as it has bytes,
    which the kernel may first have to take back from elsewhere (evicting the user's own
    cached files or, in a virtual machine, faulting in memory the host reclaimed): that can
    make the copy several times slower than the disk. A stored blob is seldom read back
    soon, so it is written straight from the (mapped) source file to the disk, as object
    stores such as MinIO do: no copy through user space, no page cache for the blob. Whole
    blocks only: the caller copies the rest, and all of it when the file system (or the OS)
    has no direct I/O or refuses a write.
    """
    try:
        import fcntl
        import mmap

        flags = fcntl.fcntl(dst, fcntl.F_GETFL)
        fcntl.fcntl(dst, fcntl.F_SETFL, flags | os.O_DIRECT)
    except (ImportError, AttributeError, OSError):
        return 0
    try:
        source = mmap.mmap(src, size, prot=mmap.PROT_READ)
    except (ValueError, OSError):  # shorter than it was (the caller sees it), or cannot be mapped
        fcntl.fcntl(dst, fcntl.F_SETFL, flags)
        return 0
    try:
        return _write_mapped(dst, source, size - size % _DIRECT_ALIGN)
    finally:
        fcntl.fcntl(dst, fcntl.F_SETFL, flags)
        with contextlib.suppress(BufferError):  # a view kept alive by a traceback: freed with it
            source.close()


def _write_mapped(dst: int, source: mmap.mmap, end: int) -> int:
    """Write ``source[:end]`` to ``dst`` in slices; how many bytes were, until a write was refused.

    A refused write (EINVAL: no direct I/O there after all, or an unaligned short write
    before) or a source cut meanwhile (EFAULT) stops it: the caller copies the rest.
    """
    done = 0
    with memoryview(source) as view:
        while done < end:
            piece = view[done : min(done + _COPY_SLICE, end)]
            try:
                done += os.write(dst, piece)
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EFAULT):
                    raise
                break
            finally:
                piece.release()
    return done


def write_parts(dst: IO[bytes], parts: Sequence[bytes]) -> None:
    """Write the concatenation of ``parts`` to the new, empty file ``dst``: a big one with direct I/O."""
    if sum(map(len, parts)) < DIRECT_COPY_MIN or not write_direct(dst.fileno(), parts):
        for part in parts:
            write_bytes(dst, part)


def write_direct(fd: int, parts: Sequence[bytes]) -> bool:
    """Write ``parts`` to the empty file ``fd`` with ``O_DIRECT`` through an aligned buffer; False if refused.

    See :func:`copy_direct` for why. The last block is padded, then the file cut to size;
    refused, the file is left empty for the caller to write otherwise.
    """
    try:
        import fcntl
        import mmap

        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT)
    except (ImportError, AttributeError, OSError):
        return False
    buffer = mmap.mmap(-1, _DIRECT_BUFFER)  # page-aligned, as direct I/O needs
    try:
        size = _fill_and_write(fd, parts, buffer)
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags)
        with contextlib.suppress(BufferError):  # a view kept alive by a traceback: freed with it
            buffer.close()
    os.ftruncate(fd, 0 if size is None else size)
    os.lseek(fd, 0 if size is None else size, os.SEEK_SET)
    return size is not None


def _fill_and_write(fd: int, parts: Sequence[bytes], buffer: mmap.mmap) -> int | None:
    """Copy ``parts`` into ``buffer``, writing it out whenever full (the last time padded); the size.

    None if a write was refused.
    """
    size = used = 0
    for part in parts:
        with memoryview(part) as data:
            start = 0
            while start < len(data):
                n = min(len(data) - start, _DIRECT_BUFFER - used)
                buffer[used : used + n] = data[start : start + n]
                used, start = used + n, start + n
                if used == _DIRECT_BUFFER:
                    if not _write_all(fd, buffer, used):
                        return None
                    size, used = size + used, 0
    if used:
        padded = -(-used // _DIRECT_ALIGN) * _DIRECT_ALIGN
        buffer[used:padded] = bytes(padded - used)
        if not _write_all(fd, buffer, padded):
            return None
        size += used
    return size


def _write_all(fd: int, buffer: mmap.mmap, length: int) -> bool:
    """Write ``buffer[:length]``; False if a write is refused (EINVAL)."""
    with memoryview(buffer) as view:
        done = 0
        while done < length:
            piece = view[done:length]
            try:
                done += os.write(fd, piece)
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                return False
            finally:
                piece.release()
    return True


def write_bytes(dst: IO[bytes], data: bytes) -> None:
    """Write ``data`` in slices of a few MiB, without copying it."""
    view = memoryview(data)
    for start in range(0, len(view), _WRITE_CHUNK):
        dst.write(view[start : start + _WRITE_CHUNK])


class BackgroundCopy(StagedFile):
    """A local file copied into the store's folder in the background, under no key until ``commit``."""

    def __init__(
        self, store: LocalBlobStore, local_path: Path, unchanged: Fingerprint, executor: Executor
    ) -> None:
        super().__init__(store, local_path, unchanged)
        self.folder = store
        self.tmp = store.root / f".staged.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}"
        self.future = executor.submit(self._copy)

    def _copy(self) -> None:
        src = os.open(self.local_path, os.O_RDONLY)
        try:
            check_unchanged(self.local_path, self.unchanged, os.fstat(src))
            self.folder.root.mkdir(parents=True, exist_ok=True)
            dst = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                copy_fd(src, dst, self.unchanged[0])
                if self.folder.fsync:
                    os.fsync(dst)
            finally:
                os.close(dst)
            check_unchanged(self.local_path, self.unchanged, os.fstat(src))
        finally:
            os.close(src)

    def commit(self, key: str) -> None:
        key = check_key(key)
        final = self.folder._path(key)
        try:
            self.future.result()
            check_unchanged(self.local_path, self.unchanged)  # not replaced by another file meanwhile
            final.parent.mkdir(parents=True, exist_ok=True)
            self.tmp.replace(final)
        except FileNotFoundError as exc:
            raise ConflictError(
                f"{str(self.local_path)!r} changed while it was being added; add it again"
            ) from exc
        except OSError as exc:
            raise BackendUnavailable(f"cannot write blob {key!r} in {self.folder.uri}: {exc}") from exc
        finally:
            self.discard()
        if self.folder.fsync:
            self.folder._fsync_dir(final.parent)

    def discard(self) -> None:
        self.future.cancel()
        with contextlib.suppress(BaseException):
            self.future.exception()  # wait for a copy under way
        with contextlib.suppress(OSError):
            self.tmp.unlink()


class LocalBlobStore(BlobStore):
    """Blobs as files under ``root`` (a path or a ``file://`` URI); ``fsync=True`` for durability."""

    def __init__(self, root: str | Path, *, fsync: bool = False) -> None:
        text = str(root)
        if text.startswith("file://"):
            text = text[len("file://") :]
        elif text.startswith("file:"):
            text = text[len("file:") :]
        self.root = Path(text).expanduser().absolute()
        self.fsync = fsync
        self._copier: Executor | None = None

    @classmethod
    def from_uri(cls, uri: str, *, endpoint_url: str | None = None) -> LocalBlobStore:
        """``endpoint_url`` is ignored: a folder has none."""
        return cls(uri)

    @property
    def uri(self) -> str:
        return self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    # -- writes ------------------------------------------------------------------

    def _put_file(self, key: str, local_path: Path) -> None:
        self._put_file_unchanged(key, local_path, None)

    def _put_file_unchanged(self, key: str, local_path: Path, expected: Fingerprint | None) -> None:
        """Copy in the kernel; with ``expected``, check the source before the rename commits it."""
        try:
            src = os.open(local_path, os.O_RDONLY)
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                if expected is not None:
                    check_unchanged(local_path, expected)
                raise InvalidInputError(f"cannot upload {str(local_path)!r}: no such file") from exc
            if isinstance(exc, IsADirectoryError):
                raise InvalidInputError(f"cannot upload {str(local_path)!r}: not a regular file") from exc
            raise BackendUnavailable(f"cannot read {str(local_path)!r}: {exc}") from exc
        try:
            before = os.fstat(src)
            if expected is not None:
                check_unchanged(local_path, expected, before)

            def fill(dst: IO[bytes]) -> None:
                dst.flush()
                copy_fd(src, dst.fileno(), before.st_size)
                if expected is not None:
                    check_unchanged(local_path, expected, os.fstat(src))
                    check_unchanged(local_path, expected)  # not replaced by another file meanwhile

            self._write(key, fill)
        finally:
            os.close(src)

    def stage_file(self, local_path: Path, unchanged: Fingerprint) -> StagedFile:
        """Copy the file into the store's folder in the background (one file at a time)."""
        if self._copier is None:
            from concurrent.futures import ThreadPoolExecutor

            self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipyard-copy")
        return BackgroundCopy(self, Path(local_path), unchanged, self._copier)

    def _put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda dst: write_bytes(dst, data))

    def put_parts(self, key: str, parts: Sequence[bytes]) -> None:
        """Store the concatenation of ``parts``, written without joining them (a big one with direct I/O)."""
        self._write(check_key(key), lambda dst: write_parts(dst, parts))

    def _write(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        final = self._path(key)
        tmp = temp_sibling(final)
        committed = False
        try:
            try:
                dst = tmp.open("xb")
            except FileNotFoundError:  # the key's folder is made on its first blob only
                final.parent.mkdir(parents=True, exist_ok=True)
                dst = tmp.open("xb")
            with dst:
                fill(dst)
                if self.fsync:
                    dst.flush()
                    os.fsync(dst.fileno())
            tmp.replace(final)
            committed = True
        except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            raise ConflictError(
                f"cannot write blob {key!r} in {self.uri}: a key and a folder of keys share that name"
            ) from exc
        except OSError as exc:
            raise BackendUnavailable(f"cannot write blob {key!r} in {self.uri}: {exc}") from exc
        finally:
            if not committed:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        if self.fsync:
            self._fsync_dir(final.parent)

    @staticmethod
    def _fsync_dir(folder: Path) -> None:
        with contextlib.suppress(OSError):  # not every OS or filesystem can fsync a folder
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _delete(self, key: str) -> None:
        with self._reading(key):
            self._path(key).unlink()

    # -- reads -------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self, key: str) -> Iterator[None]:
        """Translate OS errors: a missing file (or a folder in its place) is a missing key."""
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFoundError(f"no blob {key!r} in {self.uri}") from exc
        except OSError as exc:
            raise BackendUnavailable(f"cannot read blob {key!r} in {self.uri}: {exc}") from exc

    def _get_bytes(self, key: str) -> bytes:
        with self._reading(key):
            return self._path(key).read_bytes()

    def _get_range(self, key: str, offset: int, length: int) -> bytes:
        with self._reading(key):
            fd = os.open(self._path(key), os.O_RDONLY)
            try:
                parts = []
                while length > 0 and (chunk := os.pread(fd, length, offset)):
                    parts.append(chunk)
                    offset, length = offset + len(chunk), length - len(chunk)
                return b"".join(parts)
            finally:
                os.close(fd)

    def _get_file(self, key: str, dest: Path) -> None:
        with self._reading(key), self._path(key).open("rb") as src, dest.open("xb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)

    def _exists(self, key: str) -> bool:
        with self._reading(key):
            return self._path(key).is_file()

    def find_size(self, key: str) -> int | None:
        """One ``stat``; keys made by the content store need no more (they are checked there)."""
        return self._find_size(check_key(key))

    def _find_size(self, key: str) -> int | None:
        try:
            st = os.stat(self._path(key))  # noqa: PTH116
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise BackendUnavailable(f"cannot read blob {key!r} in {self.uri}: {exc}") from exc
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def find_sizes(self, keys: Iterable[str]) -> dict[str, int]:
        """One ``stat`` per key whose folder exists: keys in a missing folder cost nothing more."""
        folders: dict[str, bool] = {}
        found = {}
        for key in check_keys(keys):
            folder = key.rpartition("/")[0]
            there = folders.get(folder)
            if there is None:
                there = folders[folder] = (self._path(folder) if folder else self.root).is_dir()
            if there and (size := self._find_size(key)) is not None:
                found[key] = size
        return found

    def _size(self, key: str) -> int:
        path = self._path(key)
        with self._reading(key):
            if not path.is_file():
                raise FileNotFoundError(path)
            return path.stat().st_size

    def _list_keys(self, prefix: str) -> Iterator[str]:
        folder, _, _ = prefix.rpartition("/")
        start = self._path(folder) if folder else self.root
        if not start.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(start, onerror=self._raise):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                if name.endswith(TEMP_SUFFIX):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    yield key

    def _raise(self, exc: OSError) -> None:
        raise BackendUnavailable(f"cannot list {self.uri}: {exc}") from exc
