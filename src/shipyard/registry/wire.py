"""The JSON shape of registry records, shared by the server (which writes it) and
:class:`~shipyard.registry.rest.RestRegistry` (which reads it back).

Each record travels as its dataclass fields. JSON has no NaN, so non-finite floats
travel as ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (as run metrics do) and the
numeric fields of an evaluation are decoded back. A webhook's secret never leaves the
server: it travels as ``has_secret`` (and comes back as :data:`HIDDEN_SECRET`).

>>> floats(plain({"roc_auc": float("nan"), "accuracy": 0.5}), "metrics")
{'roc_auc': nan, 'accuracy': 0.5}
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from shipyard.core.errors import InvalidInputError
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

T = TypeVar("T")
HIDDEN_SECRET = "<hidden>"  # a webhook's secret as a client sees it: there is one, the server keeps it
_NAMED = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# -- floats -----------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """``value`` with every non-finite float (however deeply nested) replaced by its name.

    >>> plain({"a": [float("inf"), 1.5], "b": float("nan")})
    {'a': ['Infinity', 1.5], 'b': 'NaN'}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_float(value: Any, where: str) -> float:
    """A number, or one of the names :func:`plain` writes, as a float; else ``InvalidInputError``."""
    if isinstance(value, str) and value in _NAMED:
        return _NAMED[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(
            f"{where} must be a number (or 'NaN', 'Infinity', '-Infinity'), got {value!r}"
        )
    return float(value)


def floats(values: Any, where: str) -> dict[str, float]:
    """``{name: number}`` decoded with :func:`to_float`."""
    if not isinstance(values, Mapping):
        raise InvalidInputError(f"{where} must be an object of numbers, got {type(values).__name__}")
    return {str(k): to_float(v, f"{where}.{k}") for k, v in values.items()}


def _record(cls: type[T], body: Mapping[str, Any], **overrides: Any) -> T:
    """An instance of dataclass ``cls`` from the body's fields (others ignored)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{**{k: v for k, v in body.items() if k in names}, **overrides})


# -- models, versions, aliases --------------------------------------------------------
def model_json(model: RegisteredModel) -> dict[str, Any]:
    return dataclasses.asdict(model)


def model_from_json(body: Mapping[str, Any]) -> RegisteredModel:
    return _record(RegisteredModel, body)


def version_json(version: ModelVersion) -> dict[str, Any]:
    """The version's fields and its ``uri`` (``models:/name/3``)."""
    return {**dataclasses.asdict(version), "uri": version.uri}


def version_from_json(body: Mapping[str, Any]) -> ModelVersion:
    return _record(ModelVersion, body)


def change_json(change: AliasChange) -> dict[str, Any]:
    return plain(dataclasses.asdict(change))  # type: ignore[no-any-return]


def change_from_json(body: Mapping[str, Any]) -> AliasChange:
    return _record(AliasChange, body)


# -- policies and approvals -----------------------------------------------------------
def policy_json(policy: Policy) -> dict[str, Any]:
    return {**dataclasses.asdict(policy), "gates": [plain(g.to_dict()) for g in policy.gates]}


def policy_from_json(body: Mapping[str, Any]) -> Policy:
    return _record(Policy, body, gates=[GateSpec.from_dict(g) for g in body["gates"]])


def approval_json(approval: Approval) -> dict[str, Any]:
    return dataclasses.asdict(approval)


def approval_from_json(body: Mapping[str, Any]) -> Approval:
    return _record(Approval, body)


# -- evaluations ------------------------------------------------------------------------
def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    return plain(dataclasses.asdict(evaluation))  # type: ignore[no-any-return]


def evaluation_from_json(body: Mapping[str, Any]) -> Evaluation:
    """An evaluation with its numbers decoded (``InvalidInputError`` for one that is not a number)."""
    slices = {
        column: {group: floats(metrics, f"slices.{column}.{group}") for group, metrics in groups.items()}
        for column, groups in _mapping(body.get("slices"), "slices").items()
    }
    fairness = {
        column: floats(gaps, f"fairness.{column}")
        for column, gaps in _mapping(body.get("fairness"), "fairness").items()
    }
    return _record(
        Evaluation,
        body,
        metrics=floats(body.get("metrics", {}), "metrics"),
        slices=slices,
        fairness=fairness,
    )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise InvalidInputError(f"{where} must be an object of objects")
    return value


# -- webhooks ---------------------------------------------------------------------------
def webhook_json(webhook: Webhook) -> dict[str, Any]:
    """A webhook without its secret: ``has_secret`` says whether deliveries are signed."""
    body = dataclasses.asdict(webhook)
    body["has_secret"] = bool(body.pop("secret"))
    return body


def webhook_from_json(body: Mapping[str, Any]) -> Webhook:
    """The webhook as the server shows it: the server keeps the secret, so ``secret`` is
    :data:`HIDDEN_SECRET` when there is one, else None."""
    return _record(Webhook, body, secret=HIDDEN_SECRET if body.get("has_secret") else None)


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return plain(dataclasses.asdict(delivery))  # type: ignore[no-any-return]


def delivery_from_json(body: Mapping[str, Any]) -> Delivery:
    return _record(Delivery, body)
