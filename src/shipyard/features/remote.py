"""The store-level feature-registry API a server offers to remote clients, validated.

A remote SDK runs :meth:`FeaturesService.apply` itself and asks the server to record
each new version. The server does not trust that request: the spec must describe a
valid object of its kind under its name, be canonical (exactly what that object's
``spec()`` gives) and have the digest the request claims. A recorded version is
written to the audit log as the caller.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInputError
from shipyard.core.ids import check_id
from shipyard.features.models import KINDS, Definition, Watermark, from_spec, spec_digest
from shipyard.features.refs import check_name
from shipyard.storage.digests import check_digest

if TYPE_CHECKING:
    from shipyard.features.service import FeaturesService

MAX_LISTED = 10_000


def check_definition(draft: Definition) -> None:
    """``draft`` is well formed: known kind, valid name and id, canonical spec with its digest."""
    if draft.kind not in KINDS:
        raise InvalidInputError(f"unknown definition kind {draft.kind!r}; known: {', '.join(KINDS)}")
    check_name(draft.name, draft.kind)
    check_id(draft.id, "definition id")
    check_digest(draft.digest)
    if not isinstance(draft.spec, dict):
        raise InvalidInputError("a definition's spec must be a JSON object")
    obj = from_spec(draft.kind, draft.spec)
    if obj.name != draft.name:
        raise InvalidInputError(f"the spec names {obj.name!r}, not {draft.name!r}")
    if obj.spec() != draft.spec:
        raise InvalidInputError(f"the spec of {draft.name!r} is not canonical: send what spec() returns")
    if spec_digest(draft.spec) != draft.digest:
        raise InvalidInputError(f"the digest of {draft.name!r} does not match its spec")
    if draft.created_at < 0:
        raise InvalidInputError("created_at must be a time in milliseconds since the epoch")


class FeatureRecords:
    """Store-level calls on the registry store of ``service``, each validated."""

    def __init__(self, service: FeaturesService) -> None:
        self.service = service

    def create_definition(
        self, draft: Definition, expected_version: int | None, actor: str
    ) -> tuple[Definition, bool]:
        """Record ``draft`` (unless the latest version has its digest); (the version, whether it is new)."""
        check_definition(draft)
        if expected_version is not None and expected_version < 0:
            raise InvalidInputError("expected_version must be 0 (no version yet) or a version number")
        stored = self.service.store.create_definition(draft, expected_version)
        created = stored.id == draft.id
        audit = self.service.audit
        if created and audit is not None:
            audit.record(actor, "features.apply", f"{stored.kind}:{stored.ref}", {"digest": stored.digest})
        return stored, created

    def list_definitions(self, kind: str | None, limit: int, offset: int) -> builtins.list[Definition]:
        if kind is not None and kind not in KINDS:
            raise InvalidInputError(f"unknown definition kind {kind!r}; known: {', '.join(KINDS)}")
        return self.service.store.list_definitions(kind, limit, offset)

    def get_definition(self, kind: str, name: str, version: int) -> Definition:
        return self.service.store.get_definition(kind, name, version)

    def find_latest(self, kind: str, name: str) -> Definition | None:
        return self.service.store.find_latest(kind, name)

    def list_versions(self, kind: str, name: str) -> builtins.list[Definition]:
        return self.service.store.list_versions(kind, name)

    def set_watermark(self, watermark: Watermark) -> None:
        check_name(watermark.view, "feature view")
        if watermark.version < 1 or watermark.end_ms < 0 or watermark.rows < 0:
            raise InvalidInputError("a watermark needs a version >= 1, an end time and a row count >= 0")
        self.service.store.set_watermark(watermark)

    def find_watermark(self, view: str) -> Watermark | None:
        return self.service.store.find_watermark(view)

    def list_watermarks(self) -> builtins.list[Watermark]:
        return self.service.store.list_watermarks()
