"""The model registry of a Shipyard server, over ``/api/v1`` (``SHIPYARD_URI=http(s)://host:port``).

:class:`RestRegistry` has the public methods of
:class:`~shipyard.registry.service.RegistryService`, each one request (or a few), so
the SDK and the CLI work unchanged in remote mode. Every rule is enforced by the
server: the gates run inside ``POST /models/{name}/aliases/{alias}``, roles come from
the token, and a refusal comes back as the same exception (``GateFailed`` with the
report in ``details["report"]``, ``PermissionDenied`` ...).

The one exception is :meth:`RestRegistry.evaluate`: the data is here, so the model is
loaded and scored here, the plots are uploaded as blobs, and the server keeps the
record after checking it (:mod:`shipyard.registry.remote`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.client.http import HttpClient
from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.registry import wire
from shipyard.registry.inputs import check_version, to_ms
from shipyard.registry.models import (
    AliasChange,
    Approval,
    Delivery,
    Evaluation,
    GateSpec,
    ModelVersion,
    Policy,
    RegisteredModel,
    Webhook,
)

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.models.service import ModelService
    from shipyard.models.uris import ModelRef
    from shipyard.storage.cas import ContentStore

API = "/api/v1"
PAGE = 1000


class RestRegistry:
    """The registry of the server at ``uri``; ``models``, ``datasets`` and ``content`` (given as
    zero-argument callables, built on first use) are the client's own, used by :meth:`evaluate`."""

    def __init__(
        self,
        uri: str,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        models: Callable[[], ModelService] | None = None,
        datasets: Callable[[], DatasetService] | None = None,
        content: Callable[[], ContentStore] | None = None,
    ) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)
        self._models, self._datasets, self._content = models, datasets, content

    def __repr__(self) -> str:
        return f"RestRegistry({self.uri!r})"

    def close(self) -> None:
        self.http.close()

    # -- models and versions --------------------------------------------------------
    def register(self, name: str, model_uri: str, description: str | None = None) -> ModelVersion:
        body = {"model_uri": model_uri, "description": description}
        return wire.version_from_json(self.http.request("POST", _model(name, "/versions"), json=body))

    def get_model(self, name: str) -> RegisteredModel:
        return wire.model_from_json(self.http.request("GET", _model(name)))

    def list_models(self, limit: int = 1000, offset: int = 0) -> list[RegisteredModel]:
        """Registered models, by name."""
        found: list[RegisteredModel] = []
        limit, offset = max(1, limit), max(0, offset)
        while len(found) < limit:
            size = min(PAGE, limit - len(found))
            params = {"limit": size, "offset": offset + len(found)}
            page = self.http.request("GET", f"{API}/models", params=params)
            found.extend(wire.model_from_json(m) for m in page)
            if len(page) < size:
                break
        return found

    def get_version(self, name: str, version: int) -> ModelVersion:
        return wire.version_from_json(self.http.request("GET", _version(name, version)))

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first."""
        return [wire.version_from_json(v) for v in self.http.request("GET", _model(name, "/versions"))]

    def resolve(self, uri: str | ModelRef) -> ModelVersion:
        """The registered version a ``models:/`` URI or shorthand names."""
        from shipyard.models.uris import parse_model_uri

        ref = parse_model_uri(uri)
        if ref.kind == "run" or ref.name is None:
            raise InvalidInputError(f"{ref} is a run's package, not a registered version: use models:/NAME/V")
        if ref.kind == "version":
            return self.get_version(ref.name, check_version(ref.version))
        found = self.holder(ref.name, str(ref.alias))
        if found is None:
            raise NotFoundError(f"nobody holds alias {ref.alias!r} of model {ref.name!r}")
        return found

    def describe(
        self,
        name: str,
        version: int | None = None,
        description: str | None = None,
        fields: Mapping[str, str | None] | None = None,
    ) -> RegisteredModel | ModelVersion:
        """Set a description (of the model, or of one version) and model-card ``fields``."""
        body = {"description": description, "fields": None if fields is None else dict(fields)}
        if version is None:
            return wire.model_from_json(self.http.request("PATCH", _model(name), json=body))
        return wire.version_from_json(self.http.request("PATCH", _version(name, version), json=body))

    # -- aliases --------------------------------------------------------------------
    def promote(
        self, name: str, version: int, alias: str, reason: str | None = None, override: bool = False
    ) -> AliasChange:
        """Ask the server to move ``alias``; its gates decide (``GateFailed`` with the report)."""
        body = {"version": check_version(version), "reason": reason, "override": override}
        return wire.change_from_json(self.http.request("POST", _alias(name, alias), json=body))

    def rollback(self, name: str, alias: str, reason: str | None = None) -> AliasChange:
        body = {"reason": reason}
        return wire.change_from_json(self.http.request("POST", _alias(name, alias, "/rollback"), json=body))

    def history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Every change of ``alias`` (or of every alias of the model), oldest first."""
        path = _model(name, "/history") if alias is None else _alias(name, alias, "/history")
        return [wire.change_from_json(c) for c in self.http.request("GET", path)]

    def holder(self, name: str, alias: str, at: datetime | int | None = None) -> ModelVersion | None:
        params = None if at is None else {"at": to_ms(at)}
        found = self.http.request("GET", _alias(name, alias, "/holder"), params=params)
        return None if found is None else wire.version_from_json(found)

    def aliases(self, name: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.http.request("GET", _model(name, "/aliases")).items()}

    # -- policies and approvals -----------------------------------------------------
    def set_policy(self, name: str, alias: str, gates: Sequence[GateSpec | Mapping[str, Any]]) -> Policy:
        if isinstance(gates, GateSpec | Mapping):
            gates = [gates]
        body = {"gates": [wire.plain(g.to_dict() if isinstance(g, GateSpec) else dict(g)) for g in gates]}
        return wire.policy_from_json(self.http.request("PUT", _alias(name, alias, "/policy"), json=body))

    def get_policy(self, name: str, alias: str) -> Policy | None:
        found = self.http.request("GET", _alias(name, alias, "/policy"))
        return None if found is None else wire.policy_from_json(found)

    def approve(self, name: str, version: int, alias: str, comment: str | None = None) -> Approval:
        body = {"alias": alias, "comment": comment}
        path = _version(name, version, "/approvals")
        return wire.approval_from_json(self.http.request("POST", path, json=body))

    def list_approvals(self, name: str, version: int) -> list[Approval]:
        found = self.http.request("GET", _version(name, version, "/approvals"))
        return [wire.approval_from_json(a) for a in found]

    # -- evaluations ----------------------------------------------------------------
    def evaluate(
        self,
        model_uri: str,
        data: Any,
        target: str,
        task: str = "classification",
        slices: Sequence[str] | None = None,
        dataset: str | None = None,
        *,
        trust: bool = False,
    ) -> Evaluation:
        """Evaluate here, upload the plots, and have the server keep the evaluation."""
        from shipyard.core.actors import current_actor
        from shipyard.core.clock import now_ms
        from shipyard.models.uris import parse_model_uri
        from shipyard.registry import evaluating

        if (data is None) == (dataset is None):
            raise InvalidInputError("give the data to evaluate on: a DataFrame or a dataset reference")
        question = evaluating.Question(target, task, evaluating.check_slices(task, slices))
        ref = parse_model_uri(model_uri)
        name, number, uri = None, None, str(ref)
        if ref.kind != "run":
            registered = self.resolve(ref)
            name, number, uri = registered.name, registered.version, registered.model_uri
        datasets = None if self._datasets is None else self._datasets()
        evaluation = evaluating.evaluate(
            _needed(self._models, "models")().load(uri, trust=trust),
            evaluating.resolve_data(data if dataset is None else dataset, datasets),
            question,
            content=_needed(self._content, "content")(),
            model=(name, number, uri),
            at=now_ms(),
            actor=current_actor(),
        )
        body = wire.evaluation_json(evaluation)
        return wire.evaluation_from_json(self.http.request("POST", f"{API}/evaluations", json=body))

    def list_evaluations(self, name: str, version: int) -> list[Evaluation]:
        """Evaluations of the version's package, newest first."""
        found = self.http.request("GET", _version(name, version, "/evaluations"))
        return [wire.evaluation_from_json(e) for e in found]

    def card(self, name: str, version: int, fmt: str = "md") -> str:
        """The version's model card rendered by the server: ``md``, ``html`` or ``json`` text."""
        with self.http.stream(_version(name, version, "/card"), params={"format": fmt}) as chunks:
            return b"".join(chunks).decode()

    # -- webhooks -------------------------------------------------------------------
    def add_webhook(self, url: str, events: Sequence[str] = ("*",), secret: str | None = None) -> Webhook:
        """Tell ``url`` about ``events``; the server keeps the secret (``secret`` comes back hidden)."""
        wanted = [events] if isinstance(events, str) else list(events)
        body = {"url": url, "events": wanted, "secret": secret}
        return wire.webhook_from_json(self.http.request("POST", f"{API}/webhooks", json=body))

    def list_webhooks(self) -> list[Webhook]:
        return [wire.webhook_from_json(w) for w in self.http.request("GET", f"{API}/webhooks")]

    def remove_webhook(self, webhook_id: str) -> None:
        self.http.request("DELETE", f"{API}/webhooks/{quote(webhook_id, safe='')}")

    def list_deliveries(self, webhook_id: str | None = None, limit: int = 100) -> list[Delivery]:
        params = {"webhook_id": webhook_id, "limit": max(1, limit)}
        found = self.http.request("GET", f"{API}/webhooks/deliveries", params=params)
        return [wire.delivery_from_json(d) for d in found]


def _needed(source: Callable[[], Any] | None, what: str) -> Callable[[], Any]:
    if source is None:
        raise InvalidInputError(f"evaluating needs the {what} service, which this client was not given")
    return source


def _model(name: str, tail: str = "") -> str:
    """``/api/v1/models/{name}{tail}``; an empty name cannot name anything."""
    if not name:
        raise NotFoundError("model '' not found: a name cannot be empty")
    return f"{API}/models/{quote(name, safe='')}{tail}"


def _version(name: str, version: int, tail: str = "") -> str:
    return _model(name, f"/versions/{check_version(version)}{tail}")


def _alias(name: str, alias: str, tail: str = "") -> str:
    if not alias:
        raise NotFoundError("alias '' not found: an alias cannot be empty")
    return _model(name, f"/aliases/{quote(alias, safe='')}{tail}")
