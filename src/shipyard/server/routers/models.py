"""``/api/v1/models``: registered models, versions, aliases, promotion through gates, policies, approvals.

Every route calls the :class:`~shipyard.registry.service.RegistryService` acting for
the request's token (:mod:`shipyard.server.registry_access`), so the service's rules
hold here as they do embedded: reads need ``viewer``; register, describe, promote
and rollback ``editor``; approve ``approver``; ``override`` and policies ``admin``.

``POST /models/{name}/aliases/{alias}`` is where the gates run. A failing gate
answers ``409 gate_failed`` with the report of every gate in
``error.details.report`` (``{"passed", "results": [{kind, description, passed,
observed, required, detail}]}``) and nothing moves; ``"override": true`` from a
caller below ``admin`` answers 403 and nothing moves either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.core.errors import InvalidInputError
from shipyard.registry import wire
from shipyard.registry.models import ModelVersion, RegisteredModel
from shipyard.server.auth import by_method
from shipyard.server.encoding import json_response
from shipyard.server.registry_access import RegistryDep

router = APIRouter(prefix="/api/v1/models", tags=["registry"], dependencies=[by_method])
MAX_LISTED = 10_000


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class RegisterIn(Strict):
    model_uri: str = Field(description="runs:/<run_id>/<path>, or a registered version (models:/other/3)")
    description: str | None = None


class DescribeIn(Strict):
    """A description (left out: unchanged) and model-card fields to merge (a null value removes one)."""

    description: str | None = None
    fields: dict[str, str | None] | None = None


class PromoteIn(Strict):
    version: int = Field(ge=1)
    reason: str | None = None
    override: bool = False


class RollbackIn(Strict):
    reason: str | None = None


class GateIn(Strict):
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class PolicyIn(Strict):
    gates: list[GateIn]


class ApproveIn(Strict):
    alias: str
    comment: str | None = None


# -- models and versions --------------------------------------------------------------
@router.get("")
def list_models(
    registry: RegistryDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Registered models, by name."""
    return json_response([wire.model_json(m) for m in registry.list_models(limit, offset)])


@router.get("/{name}")
def get_model(name: str, registry: RegistryDep) -> Response:
    """One registered model: description, card fields, latest version."""
    return json_response(wire.model_json(registry.get_model(name)))


@router.patch("/{name}")
def describe_model(name: str, body: DescribeIn, registry: RegistryDep) -> Response:
    """Set the model's description and merge its model-card fields (editor)."""
    return json_response(_described(registry.describe(name, None, body.description, body.fields)))


@router.post("/{name}/versions", status_code=201)
def register(name: str, body: RegisterIn, registry: RegistryDep) -> Response:
    """Register the package at ``model_uri`` as the next version, with its lineage (editor)."""
    version = registry.register(name, body.model_uri, body.description)
    return json_response(wire.version_json(version), 201)


@router.get("/{name}/versions")
def list_versions(name: str, registry: RegistryDep) -> Response:
    """Every version, oldest first (404 for an unknown model)."""
    return json_response([wire.version_json(v) for v in registry.list_versions(name)])


@router.get("/{name}/versions/{version}")
def get_version(name: str, version: int, registry: RegistryDep) -> Response:
    return json_response(wire.version_json(registry.get_version(name, version)))


@router.patch("/{name}/versions/{version}")
def describe_version(name: str, version: int, body: DescribeIn, registry: RegistryDep) -> Response:
    """Set the version's description (left out: kept) and merge the model's card fields (editor)."""
    description = body.description
    if "description" not in body.model_fields_set:
        description = registry.get_version(name, version).description
    return json_response(_described(registry.describe(name, version, description, body.fields)))


def _described(record: RegisteredModel | ModelVersion) -> dict[str, Any]:
    return wire.version_json(record) if isinstance(record, ModelVersion) else wire.model_json(record)


# -- aliases ----------------------------------------------------------------------------
@router.get("/{name}/aliases")
def aliases(name: str, registry: RegistryDep) -> Response:
    """``{alias: version}`` of the model's current holders."""
    return json_response(registry.aliases(name))


@router.post("/{name}/aliases/{alias}")
def promote(name: str, alias: str, body: PromoteIn, registry: RegistryDep) -> Response:
    """Move ``alias`` to ``version`` if its policy's gates pass (409 ``gate_failed`` with the report
    otherwise); ``override`` needs admin and a reason."""
    change = registry.promote(name, body.version, alias, reason=body.reason, override=body.override)
    return json_response(wire.change_json(change))


@router.post("/{name}/aliases/{alias}/rollback")
def rollback(name: str, alias: str, registry: RegistryDep, body: RollbackIn | None = None) -> Response:
    """Move ``alias`` back to its previous holder (409 when nobody holds it)."""
    change = registry.rollback(name, alias, reason=None if body is None else body.reason)
    return json_response(wire.change_json(change))


@router.get("/{name}/aliases/{alias}/history")
def alias_history(name: str, alias: str, registry: RegistryDep) -> Response:
    """Every change of the alias, oldest first."""
    return json_response([wire.change_json(c) for c in registry.history(name, alias)])


@router.get("/{name}/history")
def model_history(name: str, registry: RegistryDep) -> Response:
    """Every change of every alias of the model, oldest first."""
    return json_response([wire.change_json(c) for c in registry.history(name)])


@router.get("/{name}/aliases/{alias}/holder")
def holder(
    name: str,
    alias: str,
    registry: RegistryDep,
    at: Annotated[str | None, Query(description="ms since the epoch, or ISO-8601 (naive = UTC)")] = None,
) -> Response:
    """The version holding the alias now, or at time ``at``; null when nobody did."""
    found = registry.holder(name, alias, at=None if at is None else parse_time(at))
    return json_response(None if found is None else wire.version_json(found))


def parse_time(text: str) -> int | datetime:
    """``at`` as ms (digits) or a datetime (ISO-8601).

    >>> parse_time("1700000000000"), parse_time("2024-05-01T12:00:00Z").year
    (1700000000000, 2024)
    """
    if text.isdigit():
        return int(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"invalid time {text!r}: give ms since the epoch or ISO-8601 (2024-05-01T12:00:00Z)"
        ) from None


# -- policies and approvals -------------------------------------------------------------
@router.put("/{name}/aliases/{alias}/policy")
def set_policy(name: str, alias: str, body: PolicyIn, registry: RegistryDep) -> Response:
    """Replace the alias's gates (admin); each gate is ``{kind, params}``."""
    policy = registry.set_policy(name, alias, [gate.model_dump() for gate in body.gates])
    return json_response(wire.policy_json(policy))


@router.get("/{name}/aliases/{alias}/policy")
def get_policy(name: str, alias: str, registry: RegistryDep) -> Response:
    """The alias's policy, or null."""
    found = registry.get_policy(name, alias)
    return json_response(None if found is None else wire.policy_json(found))


@router.post("/{name}/versions/{version}/approvals", status_code=201)
def approve(name: str, version: int, body: ApproveIn, registry: RegistryDep) -> Response:
    """Approve the version for an alias (approver; never the version's author)."""
    approval = registry.approve(name, version, body.alias, body.comment)
    return json_response(wire.approval_json(approval), 201)


@router.get("/{name}/versions/{version}/approvals")
def list_approvals(name: str, version: int, registry: RegistryDep) -> Response:
    return json_response([wire.approval_json(a) for a in registry.list_approvals(name, version)])
