"""Use cases of the model registry: register, promote through gates, roll back, evaluate.

The service is the only door into a :class:`RegistryStore`; the SDK, the CLI and the
server all go through it, so every rule holds in every mode.

**Who may do what.** The service asks an ``authorize(needed_role) -> actor`` callable
before every change: register, describe, promote, rollback and evaluate need
``editor``; approve needs ``approver``; set_policy, webhooks and promoting with
``override=True`` need ``admin``. Embedded (the default, :func:`local_authorize`),
the local user is trusted as an admin: whoever holds the database files owns the
registry anyway. A server passes a callable built from the request's token.

**Promotion.** ``promote`` reads the alias's holder, checks the alias's policy
against it, then moves the alias by compare-and-set in the store. If another
promotion moved the alias meanwhile, the gates are checked again against the new
holder and the move retried, so racing promotions are serialised: both land in the
history, in order. A failing gate raises :class:`GateFailed` with the report of
every gate and moves nothing; only an admin, with a reason, can override, which is
recorded as such in the history and the audit log.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import (
    AlreadyExistsError,
    ConflictError,
    GateFailed,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
)
from shipyard.core.ids import new_id
from shipyard.registry import evaluating
from shipyard.registry.gate_context import ServiceGateContext
from shipyard.registry.gates import check_gate
from shipyard.registry.inputs import check_card_fields, check_version, check_webhook, to_ms
from shipyard.registry.lineage import Lineage, run_lineage
from shipyard.registry.models import (
    AliasChange,
    Approval,
    Delivery,
    Evaluation,
    GateReport,
    GateSpec,
    ModelVersion,
    Policy,
    RegisteredModel,
    Webhook,
)
from shipyard.registry.policy import Subject, check_policy
from shipyard.registry.store.base import RegistryStore

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.governance.service import AuditService
    from shipyard.models.service import ModelService
    from shipyard.models.uris import ModelRef
    from shipyard.storage.cas import ContentStore
    from shipyard.tracking.service import TrackingService
    from shipyard.validation.service import ValidationService

log = logging.getLogger("shipyard.registry")
Authorize = Callable[[str], str]
Notify = Callable[[str, dict[str, Any]], None]
EVENTS = ("model_version.created", "alias.changed", "gate.failed")
MAX_ATTEMPTS = 50  # compare-and-set retries of one promotion racing others on the same alias


def local_authorize(needed_role: str) -> str:
    """The embedded default: the local user may do anything (they own the database files)."""
    from shipyard.core.actors import current_actor

    return current_actor()


def _no_notify(event: str, payload: dict[str, Any]) -> None:
    """The default ``notify``: nobody is told."""


class RegistryService:
    """Registered models, versions, aliases with history, policies, approvals and evaluations.

    Each collaborator may be given as an instance or as a zero-argument callable that
    builds it on first use (like :class:`~shipyard.validation.service.ValidationService`).
    ``audit`` is None for a client of a server, which records its own events.
    """

    def __init__(
        self,
        store: RegistryStore | Callable[[], RegistryStore],
        *,
        models: ModelService | Callable[[], ModelService] | None = None,
        tracking: TrackingService | Callable[[], TrackingService] | None = None,
        datasets: DatasetService | Callable[[], DatasetService] | None = None,
        validation: ValidationService | Callable[[], ValidationService] | None = None,
        content: ContentStore | Callable[[], ContentStore] | None = None,
        audit: AuditService | Callable[[], AuditService] | None = None,
        authorize: Authorize = local_authorize,
        notify: Notify = _no_notify,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._sources: dict[str, Any] = {
            "store": store,
            "models": models,
            "tracking": tracking,
            "datasets": datasets,
            "validation": validation,
            "content": content,
            "audit": audit,
        }
        self.authorize = authorize
        self.notify = notify
        self.clock = clock

    def _provided(self, name: str) -> Any:
        source = self._sources[name]
        if callable(source):  # stores and services are not callable; a provider is
            source = self._sources[name] = source()
        return source

    def _needed(self, name: str) -> Any:
        found = self._provided(name)
        if found is None:
            raise InvalidInputError(f"the registry has no {name} service in this workspace")
        return found

    @property
    def store(self) -> RegistryStore:
        store: RegistryStore = self._provided("store")
        return store

    @property
    def models(self) -> ModelService:
        models: ModelService = self._needed("models")
        return models

    @property
    def audit(self) -> AuditService | None:
        audit: AuditService | None = self._provided("audit")
        return audit

    def close(self) -> None:
        """Close the store if it was ever built."""
        if not callable(self._sources["store"]):
            self.store.close()

    # -- models and versions --------------------------------------------------------
    def register(self, name: str, model_uri: str, description: str | None = None) -> ModelVersion:
        """Register the package at ``model_uri`` as the next version of ``name``, with its lineage.

        ``model_uri`` is ``runs:/<run_id>/<path>``, or a registered version
        (``models:/other/3``, ``other@champion``) whose package and lineage are reused.
        """
        from shipyard.models.uris import check_model_name, parse_model_uri

        actor = self.authorize("editor")
        name = check_model_name(name)
        ref = parse_model_uri(model_uri)
        lineage: Lineage | ModelVersion
        if ref.kind == "run":
            lineage = run_lineage(self._needed("tracking"), str(ref.run_id), ref)
        else:
            lineage = self.resolve(ref)  # the registered version's package and lineage, reused
        draft = ModelVersion(
            id=new_id(),
            name=name,
            version=0,
            model_uri=lineage.model_uri,
            run_id=lineage.run_id,
            package_digest=self.models.package_digest(lineage.model_uri),
            flavor=self.models.descriptor(lineage.model_uri).flavor,
            created_by=actor,
            created_at=self.clock(),
            datasets=list(lineage.datasets),
            commit=lineage.commit,
            description=description,
        )
        version = self.store.create_version(draft)
        payload = {**dataclasses.asdict(version), "uri": version.uri}
        self._record(actor, "model.register", f"model:{name}/{version.version}", payload)
        self._emit("model_version.created", payload)
        return version

    def get_model(self, name: str) -> RegisteredModel:
        return self.store.get_model(name)

    def list_models(self, limit: int = 1000, offset: int = 0) -> list[RegisteredModel]:
        """Registered models, by name."""
        return self.store.list_models(limit=max(1, limit), offset=max(0, offset))

    def get_version(self, name: str, version: int) -> ModelVersion:
        return self.store.get_version(name, check_version(version))

    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[ModelVersion]:
        """Versions of ``name``, oldest first."""
        return self.store.list_versions(name, limit=max(1, limit), offset=max(0, offset))

    def resolve(self, uri: str | ModelRef) -> ModelVersion:
        """The registered version that ``models:/name/3``, ``models:/name@alias``, ``name:3``,
        ``name@3`` or ``name@alias`` names (``NotFoundError`` for an alias nobody holds)."""
        from shipyard.models.uris import parse_model_uri

        ref = parse_model_uri(uri)
        if ref.kind == "run" or ref.name is None:
            raise InvalidInputError(f"{ref} is a run's package, not a registered version: use models:/NAME/V")
        if ref.kind == "version":
            return self.store.get_version(ref.name, check_version(ref.version))
        holder = self.store.list_aliases(ref.name).get(str(ref.alias))
        if holder is None:
            raise NotFoundError(f"nobody holds alias {ref.alias!r} of model {ref.name!r}")
        return self.store.get_version(ref.name, holder)

    def describe(
        self,
        name: str,
        version: int | None = None,
        description: str | None = None,
        fields: Mapping[str, str | None] | None = None,
    ) -> RegisteredModel | ModelVersion:
        """Set a description (of the model, or of one version) and model-card ``fields``.

        ``fields`` always belong to the model's card (a None value removes one); a None
        ``description`` leaves the current one. Returns the version when one is named, else
        the model.
        """
        actor = self.authorize("editor")
        clean = check_card_fields(fields)
        if version is None:
            model = self.store.update_model(name, description, clean)
            self._record(
                actor, "model.describe", f"model:{name}", {"description": description, "fields": clean}
            )
            return model
        number = check_version(version)
        if clean:
            self.store.update_model(name, None, clean)
        # None leaves the version's description as it is, like the model's.
        if description is None:
            updated = self.store.get_version(name, number)
        else:
            updated = self.store.update_version(name, number, description)
        payload = {"description": description, "fields": clean}
        self._record(actor, "model.describe", f"model:{name}/{number}", payload)
        return updated

    # -- aliases --------------------------------------------------------------------
    def promote(
        self, name: str, version: int, alias: str, reason: str | None = None, override: bool = False
    ) -> AliasChange:
        """Point ``alias`` at ``version`` if the alias's policy passes (``GateFailed`` otherwise).

        ``override=True`` (admins only, with a ``reason``) moves it despite failed gates;
        the gates are still checked and their report kept. Promoting the current holder
        moves nothing and returns the change that put it there.
        """
        from shipyard.models.uris import check_alias

        actor = self.authorize("admin" if override else "editor")
        if override and not (reason or "").strip():
            raise InvalidInputError("an override needs a reason: say why the gates may be skipped")
        alias = check_alias(alias)
        target = self.store.get_version(name, check_version(version))
        policy = self.store.find_policy(name, alias)

        def plan(holder: int | None) -> AliasChange | None:
            if holder == target.version:
                return None
            champion = None if holder is None else self.store.get_version(name, holder)
            subject = Subject(target, alias, champion)
            report = None if policy is None else check_policy(policy.gates, subject, self._gates(actor))
            if report is not None and not report.passed and not override:
                self._refuse(actor, target, alias, holder, report)
            action = "override" if report is not None and not report.passed else "promote"
            return _change(target.version, actor, self.clock(), reason, action, report)

        return self._move(name, alias, plan)

    def _move(self, name: str, alias: str, plan: Callable[[int | None], AliasChange | None]) -> AliasChange:
        """Compare-and-set ``alias`` to what ``plan(holder)`` decides, re-planning if it moved meanwhile.

        ``plan`` returning None means there is nothing to move: the latest change is returned.
        """
        for _ in range(MAX_ATTEMPTS):
            holder = self.store.list_aliases(name).get(alias)
            change = plan(holder)
            if change is None:
                return self.store.list_history(name, alias)[-1]
            try:
                done = self.store.move_alias(name, alias, holder, change)
            except ConflictError:
                continue  # moved meanwhile: plan again (gates included) against the new holder
            payload = dataclasses.asdict(done)
            self._record(done.actor, f"alias.{done.action}", f"alias:{name}@{alias}", payload)
            self._emit("alias.changed", payload)
            return done
        raise ConflictError(f"{name}@{alias} kept changing during {MAX_ATTEMPTS} attempts; try again")

    def _gates(self, actor: str) -> ServiceGateContext:
        def evaluate_like(version: ModelVersion, template: Evaluation) -> Evaluation:
            slices = sorted(template.slices)
            return self._evaluate(
                version.uri, template.dataset_ref, template.target, template.task, slices, actor
            )

        return ServiceGateContext(
            self.store, lambda: self._needed("datasets"), lambda: self._needed("validation"), evaluate_like
        )

    def _refuse(
        self, actor: str, target: ModelVersion, alias: str, holder: int | None, report: GateReport
    ) -> None:
        failed = "; ".join(f"{r.description} ({r.detail or 'failed'})" for r in report.failed)
        message = (
            f"cannot promote {target.name}:{target.version} to {alias!r}: "
            f"{len(report.failed)} of {len(report.results)} gate(s) failed: {failed}"
        )
        details = {"report": report.to_dict(), "name": target.name, "version": target.version, "alias": alias}
        payload = {**details, "from_version": holder, "actor": actor}
        self._record(actor, "alias.gate_failed", f"alias:{target.name}@{alias}", payload)
        self._emit("gate.failed", payload)
        raise GateFailed(message, details=details)

    def rollback(self, name: str, alias: str, reason: str | None = None) -> AliasChange:
        """Move ``alias`` back to its previous holder: the ``from_version`` of the change that put
        the current holder in place (emptying the alias when there was none).

        No gates are checked: the alias goes back to a version that already held it.
        Rolling back twice returns to where it started.
        """
        from shipyard.models.uris import check_alias

        actor = self.authorize("editor")
        alias = check_alias(alias)

        def plan(holder: int | None) -> AliasChange:
            if holder is None:
                raise ConflictError(f"nobody holds {name}@{alias}: there is nothing to roll back")
            back = self.store.list_history(name, alias)[-1].from_version
            action = "rollback" if back is not None else "remove"
            return _change(back, actor, self.clock(), reason, action, None)

        return self._move(name, alias, plan)

    def history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Every change of ``alias`` (or of every alias of the model), oldest first."""
        return self.store.list_history(name, alias)

    def holder(self, name: str, alias: str, at: datetime | int | None = None) -> ModelVersion | None:
        """The version holding ``alias`` now, or at time ``at`` (a datetime, naive meaning UTC,
        or ms since the epoch); None when nobody held it then."""
        if at is None:
            number = self.store.list_aliases(name).get(alias)
        else:
            when = to_ms(at)
            number = None
            for change in self.store.list_history(name, alias):
                if change.at > when:
                    break
                number = change.to_version
        return None if number is None else self.store.get_version(name, number)

    def aliases(self, name: str) -> dict[str, int]:
        """``{alias: version}`` of the model's current holders."""
        return self.store.list_aliases(name)

    # -- policies and approvals -----------------------------------------------------
    def set_policy(self, name: str, alias: str, gates: Sequence[GateSpec | Mapping[str, Any]]) -> Policy:
        """Replace the gates of ``alias`` (an empty list leaves no gate); admins only."""
        from shipyard.models.uris import check_alias, check_model_name

        actor = self.authorize("admin")
        if isinstance(gates, GateSpec | Mapping):
            gates = [gates]
        checked = [check_gate(g) for g in gates]
        policy = Policy(check_model_name(name), check_alias(alias), checked, actor, self.clock())
        self.store.set_policy(policy)
        self._record(actor, "policy.set", f"alias:{name}@{alias}", [g.to_dict() for g in checked])
        return policy

    def get_policy(self, name: str, alias: str) -> Policy | None:
        return self.store.find_policy(name, alias)

    def approve(self, name: str, version: int, alias: str, comment: str | None = None) -> Approval:
        """Approve a version for an alias: approvers and admins, never the version's author.

        Approving again returns the first approval.
        """
        from shipyard.models.uris import check_alias

        actor = self.authorize("approver")
        role = self._highest_role()
        target = self.store.get_version(name, check_version(version))
        if actor == target.created_by:
            raise PermissionDenied(
                f"{actor!r} registered {name}:{target.version} and cannot approve it: ask another approver",
                details={"author": target.created_by},
            )
        approval = Approval(name, target.version, check_alias(alias), actor, role, self.clock(), comment)
        try:
            self.store.add_approval(approval)
        except AlreadyExistsError:
            return next(
                a
                for a in self.store.list_approvals(name, target.version)
                if (a.alias, a.user) == (alias, actor)
            )
        payload = {"alias": alias, "role": role, "comment": comment}
        self._record(actor, "model.approve", f"model:{name}/{target.version}", payload)
        return approval

    def _highest_role(self) -> str:
        """``admin`` when the caller is one, else ``approver`` (they were just allowed that)."""
        try:
            self.authorize("admin")
        except PermissionDenied:
            return "approver"
        return "admin"

    def list_approvals(self, name: str, version: int) -> list[Approval]:
        return self.store.list_approvals(name, check_version(version))

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
        """Evaluate a package on data and keep the evaluation (plots in the content store).

        ``data`` is a dataset reference, a DatasetVersion or a DataFrame; ``dataset`` is the
        same as passing a reference as ``data`` (for callers without a frame, e.g. REST).
        ``trust`` is passed to the model loader (pickled packages need it).
        """
        actor = self.authorize("editor")
        if (data is None) == (dataset is None):
            raise InvalidInputError("give the data to evaluate on: a DataFrame or a dataset reference")
        return self._evaluate(
            model_uri, data if dataset is None else dataset, target, task, slices, actor, trust
        )

    def _evaluate(
        self, uri: str, data: Any, target: str, task: str, slices: Any, actor: str, trust: bool = False
    ) -> Evaluation:
        from shipyard.models.uris import parse_model_uri

        ref = parse_model_uri(uri)
        name, number, uri = None, None, str(ref)
        if ref.kind != "run":
            registered = self.resolve(ref)
            name, number, uri = registered.name, registered.version, registered.model_uri
        evaluation = evaluating.evaluate(
            self.models.load(uri, trust=trust),
            evaluating.resolve_data(data, self._provided("datasets")),
            evaluating.Question(target, task, evaluating.check_slices(task, slices)),
            content=self._needed("content"),
            model=(name, number, uri),
            at=self.clock(),
            actor=actor,
        )
        self.store.save_evaluation(evaluation)
        payload = {"id": evaluation.id, "package": evaluation.package_digest, "target": target}
        self._record(actor, "model.evaluate", f"data:{evaluation.dataset_ref}", payload)
        return evaluation

    def list_evaluations(self, name: str, version: int) -> list[Evaluation]:
        """Evaluations of the version's package (made before or after it was registered), newest first."""
        return self.store.list_evaluations(self.get_version(name, version).package_digest)

    # -- webhooks -------------------------------------------------------------------
    def add_webhook(self, url: str, events: Sequence[str] = ("*",), secret: str | None = None) -> Webhook:
        """Tell ``url`` about ``events`` (names or patterns: ``"*"``, ``"alias.*"``); admins only."""
        actor = self.authorize("admin")
        wanted = check_webhook(url, events, EVENTS)
        webhook = self.store.create_webhook(Webhook(new_id(), url, wanted, secret, self.clock()))
        self._record(actor, "webhook.add", f"webhook:{webhook.id}", {"url": url, "events": wanted})
        return webhook

    def list_webhooks(self) -> list[Webhook]:
        return self.store.list_webhooks()

    def remove_webhook(self, webhook_id: str) -> None:
        actor = self.authorize("admin")
        self.store.delete_webhook(webhook_id)
        self._record(actor, "webhook.remove", f"webhook:{webhook_id}", None)

    def list_deliveries(self, webhook_id: str | None = None, limit: int = 100) -> list[Delivery]:
        return self.store.list_deliveries(webhook_id, max(1, limit))

    # -- plumbing -------------------------------------------------------------------
    def _record(self, actor: str, action: str, target: str, payload: Any) -> None:
        if self.audit is not None:
            self.audit.record(actor, action, target, payload)

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        """Tell ``notify``; what it raises is logged, never raised: the change is already made."""
        try:
            self.notify(event, payload)
        except Exception:
            log.exception("notifying %s failed", event)


def _change(
    to: int | None, actor: str, at: int, reason: str | None, action: str, report: GateReport | None
) -> AliasChange:
    """A change for the store to fill in (seq, name, alias, from_version)."""
    return AliasChange(
        0, "", "", None, to, actor, at, reason, action, None if report is None else report.to_dict()
    )
