"""The contract every registry backend (memory, SQL) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

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


class RegistryStore(ABC):
    """Persistence of registered models, versions, aliases with their history, policies,
    approvals, evaluations and webhooks.

    Every method raises only :mod:`shipyard.core.errors` exceptions: ``NotFoundError``
    for an unknown model, version or webhook, ``AlreadyExistsError`` for a clashing id
    or key, ``ConflictError`` when an alias did not hold what the caller expected,
    ``BackendUnavailable`` when the backend cannot be reached. Names, versions and
    permissions are checked by the service.
    """

    # -- models and versions --------------------------------------------------------
    @abstractmethod
    def create_version(self, draft: ModelVersion) -> ModelVersion:
        """Record a new version of ``draft.name`` in one transaction, creating the model if new.

        Its number is the model's last + 1, decided inside the transaction, so two
        concurrent calls never get the same number; ``draft.version`` is ignored.
        """

    @abstractmethod
    def get_model(self, name: str) -> RegisteredModel: ...

    @abstractmethod
    def list_models(self, limit: int = 1000, offset: int = 0) -> list[RegisteredModel]:
        """Models sorted by name."""

    @abstractmethod
    def update_model(
        self, name: str, description: str | None = None, fields: Mapping[str, str | None] | None = None
    ) -> RegisteredModel:
        """Set the description (None: unchanged) and merge ``fields`` (a None value removes the field)."""

    @abstractmethod
    def get_version(self, name: str, version: int) -> ModelVersion: ...

    @abstractmethod
    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[ModelVersion]:
        """Versions of ``name``, oldest first; ``NotFoundError`` if the model does not exist."""

    @abstractmethod
    def update_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        """Replace the description of a version (the only thing of a version that changes)."""

    # -- aliases --------------------------------------------------------------------
    @abstractmethod
    def list_aliases(self, name: str) -> dict[str, int]:
        """``{alias: version}`` of the model's current holders; ``NotFoundError`` for an unknown model."""

    @abstractmethod
    def move_alias(
        self, name: str, alias: str, expected_from: int | None, change: AliasChange
    ) -> AliasChange:
        """Compare-and-set: point ``alias`` at ``change.to_version`` (None empties it) and append
        ``change`` to the history, in one transaction, if the alias holds ``expected_from``
        (None: nobody); ``ConflictError`` otherwise, and nothing is written.

        ``NotFoundError`` if the model or ``change.to_version`` does not exist. The returned
        change has its ``seq`` and its ``from_version`` (``expected_from``); its ``at`` is
        ``change.at`` moved up, if needed, to the alias's previous change, so the history
        of one alias is in order by ``seq`` and by ``at`` alike.
        """

    @abstractmethod
    def list_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Changes of one alias (or, with None, of every alias of the model), oldest first."""

    # -- policies and approvals -----------------------------------------------------
    @abstractmethod
    def set_policy(self, policy: Policy) -> Policy:
        """Create or replace the policy of ``(policy.name, policy.alias)``."""

    @abstractmethod
    def find_policy(self, name: str, alias: str) -> Policy | None: ...

    @abstractmethod
    def add_approval(self, approval: Approval) -> Approval:
        """Record an approval; ``AlreadyExistsError`` if that user already approved that version
        for that alias, ``NotFoundError`` if the version does not exist."""

    @abstractmethod
    def list_approvals(self, name: str, version: int) -> list[Approval]:
        """Approvals of a version for every alias, oldest first."""

    # -- evaluations ----------------------------------------------------------------
    @abstractmethod
    def save_evaluation(self, evaluation: Evaluation) -> Evaluation:
        """Store an evaluation under its id (``AlreadyExistsError`` if taken)."""

    @abstractmethod
    def list_evaluations(self, package_digest: str, dataset_digest: str | None = None) -> list[Evaluation]:
        """Evaluations of a package (on one dataset digest, or on any), newest first."""

    # -- webhooks -------------------------------------------------------------------
    @abstractmethod
    def create_webhook(self, webhook: Webhook) -> Webhook: ...

    @abstractmethod
    def list_webhooks(self) -> list[Webhook]:
        """Webhooks in creation order."""

    @abstractmethod
    def delete_webhook(self, webhook_id: str) -> None:
        """Remove a webhook and its deliveries; ``NotFoundError`` if unknown."""

    @abstractmethod
    def save_delivery(self, delivery: Delivery) -> Delivery:
        """Insert a delivery, or replace the one with its id (status, attempts ... change)."""

    @abstractmethod
    def list_deliveries(self, webhook_id: str | None = None, limit: int = 100) -> list[Delivery]:
        """Deliveries (of one webhook, or of all), newest first."""

    def close(self) -> None:  # noqa: B027  (optional hook: most stores hold nothing to release)
        """Release connections."""
