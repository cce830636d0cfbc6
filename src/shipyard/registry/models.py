"""Entities of the model registry: plain dataclasses, no I/O.

A :class:`ModelVersion` is immutable once registered (only its description can
change). An alias (``production``, ``staging``, ``champion`` ...) points at one
version of a model; every move is an :class:`AliasChange` in the alias history,
with the :class:`GateReport` that allowed it (or that an admin overrode).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALIAS_ACTIONS = ("promote", "rollback", "override", "remove")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True)
class RegisteredModel:
    """A named model: its versions are numbered 1, 2, ... ``fields`` are its model-card fields."""

    name: str
    created_at: int
    description: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    latest_version: int = 0
    created_by: str = ""


@dataclass(frozen=True)
class ModelVersion:
    """One registered package of a model, with its lineage.

    ``model_uri`` is the ``runs:/<run_id>/<path>`` the package lives at;
    ``package_digest`` is the digest of its descriptor (the identity of the package);
    ``datasets`` are the training dataset versions of the run (``"name@3"``) and
    ``commit`` the git commit the run was started from.
    """

    id: str
    name: str
    version: int
    model_uri: str
    run_id: str
    package_digest: str
    flavor: str
    created_by: str
    created_at: int
    datasets: list[str] = field(default_factory=list)
    commit: str | None = None
    description: str | None = None

    @property
    def uri(self) -> str:
        """``models:/<name>/<version>``: how other commands name this version."""
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class AliasChange:
    """One move of an alias. ``to_version`` is None when the alias was emptied (``action="remove"``).

    ``action`` is ``"promote"`` (gates passed), ``"override"`` (gates failed, an admin
    moved it anyway with a reason), ``"rollback"`` or ``"remove"``. ``report`` is the
    gate report (:meth:`GateReport.to_dict`) when a policy was checked. ``seq`` orders
    every change of every alias; ``at`` (ms) never goes back within one alias.
    """

    seq: int
    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    at: int
    reason: str | None = None
    action: str = "promote"
    report: dict[str, Any] | None = None


@dataclass(frozen=True)
class GateSpec:
    """A gate of a policy: its ``kind`` (``"metric"``, ``"beats_champion"`` ...) and parameters.

    Built with the functions of :mod:`shipyard.registry.gates` (``sy.gates``).
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateSpec:
        return cls(str(data["kind"]), dict(data.get("params") or {}))


@dataclass(frozen=True)
class Policy:
    """The gates a version must pass to take ``alias`` of model ``name``."""

    name: str
    alias: str
    gates: list[GateSpec]
    updated_by: str
    updated_at: int


@dataclass(frozen=True)
class GateResult:
    """The verdict of one gate: what was seen, what was needed, and why when it failed."""

    kind: str
    description: str
    passed: bool
    observed: Any = None
    required: Any = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "description": self.description,
            "passed": self.passed,
            "observed": self.observed,
            "required": self.required,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class GateReport:
    """Every gate of a policy, checked: ``passed`` only when all passed (an empty policy passes)."""

    results: list[GateResult]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failed(self) -> list[GateResult]:
        return [result for result in self.results if not result.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "results": [result.to_dict() for result in self.results]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateReport:
        return cls([GateResult(**result) for result in data.get("results", [])])


@dataclass(frozen=True)
class Approval:
    """A user with the approver role (or above) approving a version for an alias."""

    name: str
    version: int
    alias: str
    user: str
    role: str
    at: int
    comment: str | None = None


@dataclass(frozen=True)
class Evaluation:
    """Metrics of a model package on one dataset version (or DataFrame), with plots in the content store.

    ``dataset_digest`` is the dataset version's manifest digest, or for a DataFrame
    the blake3 of its Arrow IPC bytes; ``dataset_ref`` is ``"name@3"`` or
    ``"<dataframe>"``. ``plots`` maps a plot name (``"roc.png"``) to its content digest.
    ``model_name``/``model_version`` are set when the model was named as a
    registered version; evaluations are matched to versions by ``package_digest``.
    """

    id: str
    model_name: str | None
    model_version: int | None
    package_digest: str
    model_uri: str
    dataset_ref: str
    dataset_digest: str
    target: str
    task: str
    metrics: dict[str, float]
    confusion_matrix: list[list[int]] | None
    slices: dict[str, dict[str, dict[str, float]]]
    fairness: dict[str, dict[str, float]]
    plots: dict[str, str]
    n_rows: int
    created_at: int
    created_by: str


@dataclass(frozen=True)
class Webhook:
    """An URL told about registry events (``"model_version.created"``, ``"alias.changed"``,
    ``"gate.failed"``, or ``"*"`` for all); ``secret`` signs each delivery (HMAC-SHA256)."""

    id: str
    url: str
    events: list[str]
    secret: str | None
    created_at: int
    active: bool = True


@dataclass(frozen=True)
class Delivery:
    """One event sent (or being sent) to one webhook."""

    id: str
    webhook_id: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    response_code: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None = None
