"""What gates read, from the registry store and the other domains' services.

:class:`ServiceGateContext` is the :class:`~shipyard.registry.policy.GateContext` the
registry service hands to :func:`~shipyard.registry.policy.check_policy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shipyard.registry.models import Approval, Evaluation, ModelVersion
from shipyard.registry.store.base import RegistryStore

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.validation.service import ValidationService

MAX_RESULTS = 1000  # validation results read per dataset version, newest first


class ServiceGateContext:
    """Gate inputs: datasets by reference, evaluations, validation results, approvals, model cards.

    ``evaluate_like(version, template)`` evaluates a version on the data, target, task
    and slices of ``template`` and keeps the evaluation (used for the champion).
    """

    def __init__(
        self,
        store: RegistryStore,
        datasets: Callable[[], DatasetService],
        validation: Callable[[], ValidationService],
        evaluate_like: Callable[[ModelVersion, Evaluation], Evaluation],
    ) -> None:
        self.store = store
        self._datasets = datasets
        self._validation = validation
        self._evaluate_like = evaluate_like

    def dataset(self, ref: str) -> tuple[str, str]:
        version = self._datasets().get(ref)
        return version.ref, version.digest

    def evaluations(self, version: ModelVersion, dataset_digest: str | None) -> list[Evaluation]:
        return self.store.list_evaluations(version.package_digest, dataset_digest)

    def evaluate_like(self, version: ModelVersion, template: Evaluation) -> Evaluation:
        return self._evaluate_like(version, template)

    def validation(self, dataset_ref: str, suite: str) -> bool | None:
        results = self._validation().list_results(dataset_ref, limit=MAX_RESULTS)
        latest = next((r for r in results if r.suite_name == suite), None)
        return None if latest is None else latest.success

    def approvals(self, version: ModelVersion, alias: str) -> list[Approval]:
        return [a for a in self.store.list_approvals(version.name, version.version) if a.alias == alias]

    def card(self, version: ModelVersion) -> dict[str, str]:
        return dict(self.store.get_model(version.name).fields)
