"""The contract every serving backend (memory, SQL) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from shipyard.serving.models import DeploymentSpec, Label, PredictionSegment, RouteStatus


class ServingStore(ABC):
    """Deployments with every version of their spec, route statuses, the index of the
    prediction log (one row per Parquet segment) and feedback labels.

    Every method raises only :mod:`shipyard.core.errors` exceptions: ``NotFoundError``
    for an unknown (or undeployed) deployment or version, ``AlreadyExistsError`` for a
    clashing segment id, ``ConflictError`` when ``expected_version`` no longer holds,
    ``BackendUnavailable`` when the backend cannot be reached. Specs are checked by the
    service before they get here.
    """

    # -- specs ----------------------------------------------------------------------
    @abstractmethod
    def create_spec(self, draft: DeploymentSpec, expected_version: int | None = None) -> DeploymentSpec:
        """Record ``draft`` as the next version of ``draft.name`` in one transaction, creating the
        deployment if new (or bringing an undeployed one back).

        The number is the deployment's latest + 1, decided inside the transaction
        (``draft.version`` is ignored). With ``expected_version`` (0: no version yet) the
        write is refused with ``ConflictError`` when the latest version is another one.
        """

    @abstractmethod
    def get_spec(self, name: str, version: int | None = None) -> DeploymentSpec:
        """Version ``version`` of a deployment (even an undeployed one), or with None the latest
        version of a live deployment (``NotFoundError`` once undeployed)."""

    @abstractmethod
    def list_specs(self, limit: int = 1000, offset: int = 0) -> list[DeploymentSpec]:
        """The latest spec of every live deployment, by name."""

    @abstractmethod
    def list_history(self, name: str) -> list[DeploymentSpec]:
        """Every version of a deployment's spec, oldest first (``NotFoundError`` when there is none)."""

    @abstractmethod
    def delete_deployment(self, name: str, at: int) -> None:
        """Undeploy: the deployment is no longer listed nor served; its history stays, its route
        statuses go. ``NotFoundError`` if it is not live."""

    # -- route statuses -------------------------------------------------------------
    @abstractmethod
    def set_status(self, name: str, status: RouteStatus) -> None:
        """Record (replace) the status of one route of a live deployment."""

    @abstractmethod
    def list_statuses(self, name: str) -> list[RouteStatus]:
        """The last status of each route reported, by route name."""

    # -- the prediction log's index -------------------------------------------------
    @abstractmethod
    def add_segment(self, segment: PredictionSegment) -> None:
        """Index one written segment (``AlreadyExistsError`` if its id is taken)."""

    @abstractmethod
    def list_segments(
        self, deployment: str | None = None, start: int | None = None, end: int | None = None
    ) -> list[PredictionSegment]:
        """Segments (of one deployment, or all) holding predictions made in ``[start, end)``
        (ms; None: unbounded), ordered by ``min_ts`` then id."""

    # -- feedback -------------------------------------------------------------------
    @abstractmethod
    def save_labels(self, labels: Sequence[Label]) -> None:
        """Store labels in one transaction; a label for a request id that has one replaces it."""

    @abstractmethod
    def find_labels(self, request_ids: Sequence[str]) -> list[Label]:
        """The labels of those ``request_ids`` that have one, by request id."""

    @abstractmethod
    def list_labels(self, deployment: str) -> list[Label]:
        """Every label of a deployment's predictions, by request id."""

    def close(self) -> None:  # noqa: B027  (optional hook: most stores hold nothing to release)
        """Release connections."""
