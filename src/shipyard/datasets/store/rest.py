"""Datasets on a Shipyard server, over ``/api/v1/datasets`` (``SHIPYARD_URI=http(s)://host:port``).

Every method is one request; errors come back as the exceptions the SQL store
raises. :meth:`RestDatasetStore.create_version` only records the version: the
service has uploaded the blobs (``PUT /api/v1/blobs/{digest}``) before, and the
server refuses a version whose content it does not hold.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

from shipyard.client.http import HttpClient
from shipyard.core.errors import NotFoundError
from shipyard.datasets.models import Dataset, DatasetVersion, FileEntry
from shipyard.datasets.store.base import DatasetStore

API = "/api/v1"
PAGE = 10_000  # items per list request (the server takes up to 50,000)


class RestDatasetStore(DatasetStore):
    """A :class:`DatasetStore` whose data lives on a Shipyard server."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def __repr__(self) -> str:
        return f"RestDatasetStore({self.uri!r})"

    def create_version(self, draft: DatasetVersion, dataset_id: str) -> DatasetVersion:
        body = {"dataset_id": dataset_id, **version_json(draft)}
        del body["name"], body["version"]
        return version_from_json(self.http.request("POST", _path(draft.name, "/versions"), json=body))

    def get_dataset(self, name: str) -> Dataset:
        return dataset_from_json(self.http.request("GET", _path(name)))

    def list_datasets(self, limit: int = 1000, offset: int = 0) -> list[Dataset]:
        return [dataset_from_json(d) for d in self._paged(f"{API}/datasets", limit, offset)]

    def get_version(self, name: str, version: int) -> DatasetVersion:
        return version_from_json(self.http.request("GET", _path(name, f"/versions/{int(version)}")))

    def find_latest_version(self, name: str) -> DatasetVersion | None:
        found = self.http.request("GET", _path(name, "/latest"))
        return None if found is None else version_from_json(found)

    def find_version_by_digest(self, name: str, digest: str) -> DatasetVersion | None:
        found = self.http.request("GET", _path(name, "/latest"), params={"digest": digest})
        return None if found is None else version_from_json(found)

    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[DatasetVersion]:
        return [version_from_json(v) for v in self._paged(_path(name, "/versions"), limit, offset)]

    def referenced_digests(self) -> set[str]:
        return set(self.http.request("GET", f"{API}/dataset-digests"))

    def close(self) -> None:
        self.http.close()

    def _paged(self, path: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Up to ``limit`` items from ``offset``, in pages the server accepts."""
        items: list[dict[str, Any]] = []
        while len(items) < limit:
            size = min(PAGE, limit - len(items))
            page = self.http.request("GET", path, params={"limit": size, "offset": offset + len(items)})
            items.extend(page)
            if len(page) < size:
                break
        return items


def _path(name: str, tail: str = "") -> str:
    """``/api/v1/datasets/{name}{tail}``; an empty name cannot name anything."""
    if not name:
        raise NotFoundError("dataset '' not found: a name cannot be empty")
    return f"{API}/datasets/{quote(name, safe='')}{tail}"


def dataset_from_json(body: dict[str, Any]) -> Dataset:
    return Dataset(body["id"], body["name"], body["created_at"])


def version_json(version: DatasetVersion) -> dict[str, Any]:
    """The wire shape of a version: its fields, files as ``{path, digest, size}`` objects."""
    body = dataclasses.asdict(version)
    body["files"] = [dataclasses.asdict(f) for f in version.files]
    return body


def version_from_json(body: dict[str, Any]) -> DatasetVersion:
    """The inverse of :func:`version_json`."""
    files = tuple(FileEntry(f["path"], f["digest"], f["size"]) for f in body["files"])
    fields = {f.name for f in dataclasses.fields(DatasetVersion)}
    return DatasetVersion(**{**{k: v for k, v in body.items() if k in fields}, "files": files})
