"""``/api/v1/webhooks``: the URLs told about registry events, and their deliveries (admin).

The server's workspace sends the events (``model_version.created``, ``alias.changed``,
``gate.failed``) from a background thread, signed with each webhook's secret; a
secret is never shown again (``has_secret`` says whether there is one).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.registry import wire
from shipyard.server.auth import admin_only
from shipyard.server.encoding import json_response
from shipyard.server.registry_access import RegistryDep

router = APIRouter(prefix="/api/v1/webhooks", tags=["registry"], dependencies=[admin_only])
MAX_LISTED = 10_000


class WebhookIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    url: str
    events: list[str] = Field(default_factory=lambda: ["*"])
    secret: str | None = None


@router.post("", status_code=201)
def add_webhook(body: WebhookIn, registry: RegistryDep) -> Response:
    """Tell ``url`` about ``events`` (names or patterns such as ``alias.*``)."""
    webhook = registry.add_webhook(body.url, body.events, body.secret)
    return json_response(wire.webhook_json(webhook), 201)


@router.get("")
def list_webhooks(registry: RegistryDep) -> Response:
    """Webhooks in creation order, without their secrets."""
    return json_response([wire.webhook_json(w) for w in registry.list_webhooks()])


@router.get("/deliveries")
def list_deliveries(
    registry: RegistryDep,
    webhook_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> Response:
    """Deliveries (of one webhook, or of all), newest first."""
    return json_response([wire.delivery_json(d) for d in registry.list_deliveries(webhook_id, limit)])


@router.delete("/{webhook_id}", status_code=204)
def remove_webhook(webhook_id: str, registry: RegistryDep) -> Response:
    """Remove a webhook and its deliveries (404 if unknown)."""
    registry.remove_webhook(webhook_id)
    return Response(status_code=204)
