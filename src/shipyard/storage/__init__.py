"""Blob storage: stores by URI scheme, and the content-addressed layer above them.

``open_blob_store`` picks the backend from the URI scheme (a bare path or
``file://`` is a local folder, ``s3://bucket/prefix`` an S3 bucket) and imports it
on first use, so importing this package loads no backend driver.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     type(open_blob_store(tmp)).__name__
'LocalBlobStore'
>>> open_blob_store("gs://bucket/x")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: unknown blob store URI scheme 'gs' ...; known schemes: file, s3
"""

from __future__ import annotations

from shipyard.core.plugins import resolve
from shipyard.storage.base import BlobStore

__all__ = ["BLOB_STORES", "BlobStore", "open_blob_store"]

#: Blob store backends: URI scheme -> "module:Class", imported on first use.
BLOB_STORES: dict[str, str] = {
    "file": "shipyard.storage.local:LocalBlobStore",
    "s3": "shipyard.storage.s3:S3BlobStore",
}


def open_blob_store(uri: str, endpoint_url: str | None = None) -> BlobStore:
    """Open the blob store named by ``uri``; ``endpoint_url`` is for S3-compatible servers."""
    cls: type[BlobStore] = resolve(BLOB_STORES, str(uri), "blob store")
    return cls.from_uri(str(uri), endpoint_url=endpoint_url)
