"""The content-addressed store of a Shipyard server, over ``/api/v1/blobs/{digest}``.

Uploads are hashed here first and sent only when the server does not hold the
digest yet, streamed from the file; the server hashes the body again and refuses
a mismatch. Downloads are hashed while they stream to a temporary file that is
renamed onto the destination only when the digest matches.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from blake3 import blake3

from shipyard.client.http import HttpClient
from shipyard.core.errors import BackendUnavailable, NotFoundError
from shipyard.storage.digests import PREFIX, check_digest, digest_bytes, digest_file

CHUNK = 1024 * 1024


class RestContentStore:
    """Same methods as :class:`shipyard.storage.cas.ContentStore`, on a remote server."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def __repr__(self) -> str:
        return f"RestContentStore({self.uri!r})"

    def exists(self, digest: str) -> bool:
        """Whether the server holds content with this digest."""
        return self.http.exists(_path(digest))

    def size(self, digest: str) -> int:
        """The size in bytes of the content of ``digest``; NotFoundError if absent."""
        headers = self.http.head(_path(digest))
        if headers is None:
            raise NotFoundError(f"no content with digest {digest}")
        return int(headers["content-length"])

    def put_file(self, path: Path) -> tuple[str, int]:
        """Upload the file at ``path`` unless the server has its content; return (digest, size)."""
        path = Path(path)
        digest = digest_file(path)
        size = path.stat().st_size
        if not self.exists(digest):
            self.http.request("PUT", _path(digest), content=_read_chunks(path))
        return digest, size

    def put_bytes(self, data: bytes) -> str:
        """Upload ``data`` unless the server has it; return its digest."""
        digest = digest_bytes(data)
        if not self.exists(digest):
            self.http.request("PUT", _path(digest), content=data)
        return digest

    def get_bytes(self, digest: str) -> bytes:
        """The content of ``digest``, verified; NotFoundError if absent."""
        with self.http.stream(_path(digest)) as chunks:
            data = b"".join(chunks)
        _verify(digest, digest_bytes(data))
        return data

    def get_file(self, digest: str, dest: Path) -> None:
        """Write the content of ``digest`` to ``dest``, verified before it appears there."""
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
        hasher = blake3()
        try:
            with self.http.stream(_path(digest)) as chunks, tmp.open("wb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    out.write(chunk)
            _verify(digest, PREFIX + hasher.hexdigest())
            tmp.replace(dest)
        except OSError as exc:
            raise BackendUnavailable(f"cannot write {str(dest)!r}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def close(self) -> None:
        self.http.close()


def _path(digest: str) -> str:
    return f"/api/v1/blobs/{check_digest(digest)}"


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _verify(expected: str, actual: str) -> None:
    if actual != expected:
        raise BackendUnavailable(
            f"content received for {expected} hashes to {actual}; it was corrupted on the way, try again",
            details={"expected": expected, "actual": actual},
        )
