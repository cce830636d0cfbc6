"""A blob store in an S3 bucket (AWS, MinIO, moto, ...) through s3fs.

Needs the optional extra ``pip install 'shipyard[s3]'``; s3fs is imported when a
store is opened, not when this module is. An S3 PUT (and a multipart upload's
completion) is atomic, so blobs are uploaded directly under their key. Credentials
come from the usual AWS chain (environment, ``~/.aws``, instance role).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipyard.core.errors import BackendUnavailable, InvalidInputError, NotFoundError
from shipyard.storage.base import BlobStore

INSTALL_HINT = "pip install 'shipyard[s3]'"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into bucket and prefix (without slashes at either end).

    >>> parse_s3_uri("s3://models/team-a/artifacts/")
    ('models', 'team-a/artifacts')
    >>> parse_s3_uri("s3://models")
    ('models', '')
    """
    scheme, sep, rest = uri.partition("://")
    bucket, _, prefix = rest.partition("/")
    if not sep or scheme.lower() != "s3" or not bucket:
        raise InvalidInputError(f"invalid S3 URI {uri!r}; expected s3://bucket or s3://bucket/prefix")
    return bucket, prefix.strip("/")


class S3BlobStore(BlobStore):
    """Blobs as objects under ``s3://bucket/prefix``; ``endpoint_url`` for S3-compatible servers."""

    def __init__(self, uri: str, endpoint_url: str | None = None) -> None:
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.endpoint_url = endpoint_url
        try:
            import aiohttp
            import s3fs

            botocore_errors = importlib.import_module("botocore.exceptions")  # untyped
        except ImportError as exc:
            raise InvalidInputError(
                f"the S3 blob store needs s3fs, which is not installed: {INSTALL_HINT} ({exc})"
            ) from exc
        self._driver_errors: tuple[type[BaseException], ...] = (
            OSError,
            botocore_errors.BotoCoreError,
            botocore_errors.ClientError,
            aiohttp.ClientError,
        )
        # No instance or listing cache: another process may write the same bucket.
        self._fs: Any = s3fs.S3FileSystem(
            endpoint_url=endpoint_url, skip_instance_cache=True, use_listings_cache=False
        )
        self._base = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    @classmethod
    def from_uri(cls, uri: str, *, endpoint_url: str | None = None) -> S3BlobStore:
        return cls(uri, endpoint_url=endpoint_url)

    @property
    def uri(self) -> str:
        return f"s3://{self._base}"

    def _path(self, key: str) -> str:
        return f"{self._base}/{key}"

    @contextlib.contextmanager
    def _translating(self, key: str, action: str) -> Iterator[None]:
        """Turn s3fs/botocore/aiohttp errors into Shipyard's."""
        try:
            yield
        except FileNotFoundError as exc:
            raise NotFoundError(f"no blob {key!r} in {self.uri} ({exc})") from exc
        except self._driver_errors as exc:
            where = f" at {self.endpoint_url}" if self.endpoint_url else ""
            raise BackendUnavailable(
                f"cannot {action} blob {key!r} in {self.uri}{where}: {type(exc).__name__}: {exc}"
            ) from exc

    def _put_file(self, key: str, local_path: Path) -> None:
        with self._translating(key, "upload"):
            self._fs.put_file(str(local_path), self._path(key))

    def _put_bytes(self, key: str, data: bytes) -> None:
        with self._translating(key, "upload"):
            self._fs.pipe_file(self._path(key), data)

    def _get_bytes(self, key: str) -> bytes:
        with self._translating(key, "read"):
            return bytes(self._fs.cat_file(self._path(key)))

    def _get_range(self, key: str, offset: int, length: int) -> bytes:
        with self._translating(key, "read"):
            if length == 0:
                self._info(key)
                return b""
            return bytes(self._fs.cat_file(self._path(key), start=offset, end=offset + length))

    def _get_file(self, key: str, dest: Path) -> None:
        with self._translating(key, "download"):
            self._fs.get_file(self._path(key), str(dest))

    def _info(self, key: str) -> dict[str, Any]:
        """The object's metadata; a "folder" (a shared key prefix) is not an object."""
        info: dict[str, Any] = self._fs.info(self._path(key))
        if info.get("type") != "file":
            raise FileNotFoundError(self._path(key))
        return info

    def _exists(self, key: str) -> bool:
        with self._translating(key, "check"):
            try:
                self._info(key)
            except FileNotFoundError:
                return False
            return True

    def _size(self, key: str) -> int:
        with self._translating(key, "stat"):
            return int(self._info(key)["size"])

    def _delete(self, key: str) -> None:
        with self._translating(key, "delete"):
            self._info(key)  # S3 deletes a missing key silently; the contract says NotFoundError
            self._fs.rm_file(self._path(key))

    def _list_keys(self, prefix: str) -> Iterator[str]:
        folder, _, _ = prefix.rpartition("/")
        start = self._path(folder) if folder else self._base
        with self._translating(prefix, "list"):
            paths: list[str] = self._fs.find(start)
        skip = len(self._base) + 1
        for path in paths:
            key = path[skip:]
            if key and not key.endswith("/") and key.startswith(prefix):
                yield key
