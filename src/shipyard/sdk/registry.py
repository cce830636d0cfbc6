"""The functions behind ``sy.registry`` (and ``sy.evaluate``): the model registry.

Each is one call of the workspace's :class:`~shipyard.registry.service.RegistryService`,
so the same rules hold here, on the command line and on a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    from shipyard.registry.models import (
        AliasChange,
        Approval,
        Evaluation,
        GateSpec,
        ModelVersion,
        Policy,
        RegisteredModel,
    )


def register(name: str, model_uri: str, description: str | None = None) -> ModelVersion:
    """Register the package at ``model_uri`` (``runs:/<run_id>/model``, or a registered version)
    as the next version of ``name``, with its lineage: run, training dataset versions, commit."""
    return current_workspace().registry.register(name, model_uri, description)


def promote(
    name: str, version: int, alias: str, reason: str | None = None, override: bool = False
) -> AliasChange:
    """Point ``alias`` at ``version`` if every gate of the alias's policy passes; ``GateFailed``
    (with the report of every gate in ``details["report"]``) otherwise, and nothing moves.
    ``override=True`` needs an admin and a ``reason``."""
    return current_workspace().registry.promote(name, version, alias, reason=reason, override=override)


def rollback(name: str, alias: str, reason: str | None = None) -> AliasChange:
    """Move ``alias`` back to the version that held it before the current one."""
    return current_workspace().registry.rollback(name, alias, reason=reason)


def history(name: str, alias: str | None = None) -> list[AliasChange]:
    """Every change of ``alias`` (from, to, who, when, reason, gate report), oldest first."""
    return current_workspace().registry.history(name, alias)


def holder(name: str, alias: str, at: datetime | int | None = None) -> ModelVersion | None:
    """The version holding ``alias`` now, or at time ``at`` (datetime, naive = UTC, or ms)."""
    return current_workspace().registry.holder(name, alias, at=at)


def aliases(name: str) -> dict[str, int]:
    """``{alias: version}`` of a model."""
    return current_workspace().registry.aliases(name)


def set_policy(name: str, alias: str, gates: Sequence[GateSpec | Mapping[str, Any]]) -> Policy:
    """The gates (``sy.gates.*``) a version must pass to take ``alias``; replaces the previous ones."""
    return current_workspace().registry.set_policy(name, alias, gates)


def get_policy(name: str, alias: str) -> Policy | None:
    return current_workspace().registry.get_policy(name, alias)


def approve(name: str, version: int, alias: str, comment: str | None = None) -> Approval:
    """Approve a version for an alias (approvers only; not the version's author)."""
    return current_workspace().registry.approve(name, version, alias, comment)


def describe(
    name: str,
    version: int | None = None,
    description: str | None = None,
    fields: Mapping[str, str | None] | None = None,
) -> RegisteredModel | ModelVersion:
    """Set the description of a model or version, and model-card ``fields`` of the model."""
    return current_workspace().registry.describe(name, version, description, fields)


def get_version(name: str, version: int) -> ModelVersion:
    return current_workspace().registry.get_version(name, version)


def list_models() -> list[RegisteredModel]:
    """Registered models, by name."""
    return current_workspace().registry.list_models()


def list_versions(name: str) -> list[ModelVersion]:
    """Every version of a model, oldest first."""
    return current_workspace().registry.list_versions(name)


def evaluate(
    model_uri: str,
    data: Any,
    target: str,
    task: str = "classification",
    slices: Sequence[str] | None = None,
) -> Evaluation:
    """Evaluate a model (``runs:/...``, ``models:/name/3``, ``name@champion``) on ``data`` (a dataset
    reference such as ``"holdout@2"``, or a DataFrame) and keep the evaluation: metrics, per-slice
    metrics, fairness gaps and plots, tied to the package and the data's digest (what gates read)."""
    return current_workspace().registry.evaluate(model_uri, data, target, task=task, slices=slices)
