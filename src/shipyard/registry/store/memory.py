"""A thread-safe, in-process registry store: the reference for every other backend.

>>> from shipyard.registry.models import ModelVersion
>>> store = MemoryRegistryStore()
>>> draft = ModelVersion("v1", "fraud", 0, "runs:/r/model", "r", "blake3:0", "sklearn", "ann", 1)
>>> store.create_version(draft).version
1
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.registry.models import (
    AliasChange,
    Approval,
    Delivery,
    Evaluation,
    ModelVersion,
    Policy,
    RegisteredModel,
    Webhook,
)
from shipyard.registry.store.base import RegistryStore


class MemoryRegistryStore(RegistryStore):
    """Everything in dictionaries and lists behind one lock."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.RLock()
        self._models: dict[str, RegisteredModel] = {}
        self._versions: dict[str, list[ModelVersion]] = {}
        self._ids: set[str] = set()
        self._aliases: dict[tuple[str, str], int] = {}
        self._history: list[AliasChange] = []
        self._policies: dict[tuple[str, str], Policy] = {}
        self._approvals: list[Approval] = []
        self._evaluations: list[Evaluation] = []
        self._webhooks: dict[str, Webhook] = {}
        self._deliveries: dict[str, Delivery] = {}

    # -- models and versions --------------------------------------------------------
    def create_version(self, draft: ModelVersion) -> ModelVersion:
        with self._lock:
            if draft.id in self._ids:
                raise AlreadyExistsError(f"model version id {draft.id!r} already exists")
            model = self._models.get(draft.name) or RegisteredModel(
                draft.name, draft.created_at, created_by=draft.created_by
            )
            number = model.latest_version + 1
            version = dataclasses.replace(draft, version=number, datasets=list(draft.datasets))
            self._models[draft.name] = dataclasses.replace(model, latest_version=number)
            self._versions.setdefault(draft.name, []).append(version)
            self._ids.add(draft.id)
            return version

    def get_model(self, name: str) -> RegisteredModel:
        with self._lock:
            found = self._models.get(name)
        if found is None:
            raise NotFoundError(f"model {name!r} not found")
        return found

    def list_models(self, limit: int = 1000, offset: int = 0) -> list[RegisteredModel]:
        with self._lock:
            return sorted(self._models.values(), key=lambda m: m.name)[offset : offset + limit]

    def update_model(
        self, name: str, description: str | None = None, fields: Mapping[str, str | None] | None = None
    ) -> RegisteredModel:
        with self._lock:
            model = self.get_model(name)
            merged = {**model.fields, **(fields or {})}
            model = dataclasses.replace(
                model,
                description=model.description if description is None else description,
                fields={k: v for k, v in merged.items() if v is not None},
            )
            self._models[name] = model
            return model

    def get_version(self, name: str, version: int) -> ModelVersion:
        versions = self._list(name)
        if not 1 <= version <= len(versions):
            raise NotFoundError(f"model {name!r} has no version {version} (latest: {len(versions)})")
        return versions[version - 1]

    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[ModelVersion]:
        return self._list(name)[offset : offset + limit]

    def update_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        with self._lock:
            updated = dataclasses.replace(self.get_version(name, version), description=description)
            self._versions[name][version - 1] = updated
            return updated

    def _list(self, name: str) -> list[ModelVersion]:
        with self._lock:
            if name not in self._models:
                raise NotFoundError(f"model {name!r} not found")
            return list(self._versions.get(name, []))

    # -- aliases --------------------------------------------------------------------
    def list_aliases(self, name: str) -> dict[str, int]:
        with self._lock:
            self.get_model(name)
            return {alias: v for (model, alias), v in sorted(self._aliases.items()) if model == name}

    def move_alias(
        self, name: str, alias: str, expected_from: int | None, change: AliasChange
    ) -> AliasChange:
        with self._lock:
            self.get_model(name)
            if change.to_version is not None:
                self.get_version(name, change.to_version)
            current = self._aliases.get((name, alias))
            if current != expected_from:
                raise ConflictError(
                    f"{name}@{alias} is held by {_holder(current)}, not {_holder(expected_from)}",
                    details={"holder": current},
                )
            previous = [c.at for c in self._history if (c.name, c.alias) == (name, alias)]
            done = dataclasses.replace(
                change,
                seq=len(self._history) + 1,
                name=name,
                alias=alias,
                from_version=expected_from,
                at=max([change.at, *previous]),
            )
            if change.to_version is None:
                self._aliases.pop((name, alias), None)
            else:
                self._aliases[(name, alias)] = change.to_version
            self._history.append(done)
            return done

    def list_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        with self._lock:
            self.get_model(name)
            return [c for c in self._history if c.name == name and alias in (None, c.alias)]

    # -- policies and approvals -----------------------------------------------------
    def set_policy(self, policy: Policy) -> Policy:
        with self._lock:
            self._policies[(policy.name, policy.alias)] = policy
            return policy

    def find_policy(self, name: str, alias: str) -> Policy | None:
        with self._lock:
            return self._policies.get((name, alias))

    def add_approval(self, approval: Approval) -> Approval:
        with self._lock:
            self.get_version(approval.name, approval.version)
            key = (approval.name, approval.version, approval.alias, approval.user)
            if any((a.name, a.version, a.alias, a.user) == key for a in self._approvals):
                raise AlreadyExistsError(
                    f"{approval.user!r} already approved {approval.name}:{approval.version} "
                    f"for {approval.alias!r}"
                )
            self._approvals.append(approval)
            return approval

    def list_approvals(self, name: str, version: int) -> list[Approval]:
        with self._lock:
            return [a for a in self._approvals if (a.name, a.version) == (name, version)]

    # -- evaluations ----------------------------------------------------------------
    def save_evaluation(self, evaluation: Evaluation) -> Evaluation:
        with self._lock:
            if any(e.id == evaluation.id for e in self._evaluations):
                raise AlreadyExistsError(f"evaluation id {evaluation.id!r} already exists")
            self._evaluations.append(evaluation)
            return evaluation

    def list_evaluations(self, package_digest: str, dataset_digest: str | None = None) -> list[Evaluation]:
        with self._lock:
            found = [
                e
                for e in self._evaluations
                if e.package_digest == package_digest and dataset_digest in (None, e.dataset_digest)
            ]
        return found[::-1]

    # -- webhooks -------------------------------------------------------------------
    def create_webhook(self, webhook: Webhook) -> Webhook:
        with self._lock:
            if webhook.id in self._webhooks:
                raise AlreadyExistsError(f"webhook id {webhook.id!r} already exists")
            self._webhooks[webhook.id] = webhook
            return webhook

    def list_webhooks(self) -> list[Webhook]:
        with self._lock:
            return list(self._webhooks.values())

    def delete_webhook(self, webhook_id: str) -> None:
        with self._lock:
            if self._webhooks.pop(webhook_id, None) is None:
                raise NotFoundError(f"webhook {webhook_id!r} not found")
            for key in [k for k, d in self._deliveries.items() if d.webhook_id == webhook_id]:
                del self._deliveries[key]

    def save_delivery(self, delivery: Delivery) -> Delivery:
        with self._lock:
            if delivery.webhook_id not in self._webhooks:
                raise NotFoundError(f"webhook {delivery.webhook_id!r} not found")
            self._deliveries[delivery.id] = delivery
            return delivery

    def list_deliveries(self, webhook_id: str | None = None, limit: int = 100) -> list[Delivery]:
        with self._lock:
            found = [d for d in self._deliveries.values() if webhook_id in (None, d.webhook_id)]
        return sorted(found, key=lambda d: (d.created_at, d.id), reverse=True)[:limit]


def _holder(version: int | None) -> str:
    return "nobody" if version is None else f"version {version}"
