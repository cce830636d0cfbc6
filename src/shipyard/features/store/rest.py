"""The feature registry on a Shipyard server, over ``/api/v1/features``.

Every method is one request; errors come back as the exceptions the SQL store raises.
The server checks a posted definition (its spec must describe a valid object of its
kind, under its name, with the digest it claims) before the store numbers it.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

from shipyard.client.http import HttpClient
from shipyard.core.errors import NotFoundError
from shipyard.features.models import Definition, Watermark
from shipyard.features.store.base import FeatureRegistryStore

API = "/api/v1/features"
PAGE = 10_000


class RestFeatureRegistryStore(FeatureRegistryStore):
    """A :class:`FeatureRegistryStore` whose definitions live on a Shipyard server."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def __repr__(self) -> str:
        return f"RestFeatureRegistryStore({self.uri!r})"

    def create_definition(self, draft: Definition, expected_version: int | None = None) -> Definition:
        body = {**definition_json(draft), "expected_version": expected_version}
        return definition_from_json(self.http.request("POST", f"{API}/definitions", json=body))

    def get_definition(self, kind: str, name: str, version: int) -> Definition:
        found = self.http.request("GET", _path(kind, name, f"/versions/{int(version)}"))
        return definition_from_json(found)

    def find_latest(self, kind: str, name: str) -> Definition | None:
        found = self.http.request("GET", _path(kind, name, "/latest"))
        return None if found is None else definition_from_json(found)

    def list_definitions(
        self, kind: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[Definition]:
        items: list[Definition] = []
        while len(items) < limit:
            size = min(PAGE, limit - len(items))
            params = {"kind": kind, "limit": size, "offset": offset + len(items)}
            page = self.http.request("GET", f"{API}/definitions", params=params)
            items.extend(definition_from_json(d) for d in page)
            if len(page) < size:
                break
        return items

    def list_versions(self, kind: str, name: str) -> list[Definition]:
        return [definition_from_json(d) for d in self.http.request("GET", _path(kind, name, "/versions"))]

    def set_watermark(self, watermark: Watermark) -> None:
        self.http.request("PUT", _watermark_path(watermark.view), json=dataclasses.asdict(watermark))

    def find_watermark(self, view: str) -> Watermark | None:
        found = self.http.request("GET", _watermark_path(view))
        return None if found is None else Watermark(**found)

    def list_watermarks(self) -> list[Watermark]:
        return [Watermark(**w) for w in self.http.request("GET", f"{API}/watermarks")]

    def close(self) -> None:
        self.http.close()


def _path(kind: str, name: str, tail: str) -> str:
    if not kind or not name:
        raise NotFoundError(f"definition {kind!r} {name!r} not found: a name cannot be empty")
    return f"{API}/definitions/{quote(kind, safe='')}/{quote(name, safe='')}{tail}"


def _watermark_path(view: str) -> str:
    if not view:
        raise NotFoundError("feature view '' not found: a name cannot be empty")
    return f"{API}/watermarks/{quote(view, safe='')}"


def definition_json(definition: Definition) -> dict[str, Any]:
    """The wire shape of a definition: its fields."""
    return dataclasses.asdict(definition)


def definition_from_json(body: dict[str, Any]) -> Definition:
    """The inverse of :func:`definition_json`."""
    fields = {f.name for f in dataclasses.fields(Definition)}
    return Definition(**{k: v for k, v in body.items() if k in fields})
