"""The functions behind ``sy.deploy`` and ``sy.serving``: deployments, the prediction log, feedback.

Each is one call of the workspace's :class:`~shipyard.serving.service.ServingService`,
so the same rules hold here, on the command line and on a server.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.serving.batch import BatchResult
    from shipyard.serving.models import (
        Batching,
        Deployment,
        DeploymentSpec,
        FeedbackResult,
        ResolvedRoute,
        Route,
    )
    from shipyard.serving.specs import RouteArg


def deploy(
    name: str,
    model: str | Route | None = None,
    canary: RouteArg = None,
    shadow: RouteArg = None,
    ab: RouteArg = None,
    features: str | None = None,
    batching: Batching | Mapping[str, Any] | None = None,
    routing_key: str | None = None,
    reason: str | None = None,
) -> DeploymentSpec:
    """Deploy a registered model as ``name``: a new version of the deployment's spec.

    ``model="fraud@production"`` follows the alias (``"fraud:7"`` pins a version);
    ``canary="fraud:7=10%"`` sends it 10% of the traffic; ``shadow="fraud:8"`` copies every
    request to it without answering; ``ab="fraud:5=50%,fraud:6=50%"`` replaces the primary.
    ``batching={"max_batch_size": 64, "max_wait_ms": 2}``; ``features`` names a feature
    service whose online features the data plane reads.
    """
    return current_workspace().serving.deploy(
        name, model, canary, shadow, ab, features, batching, routing_key, reason
    )


def get(name: str) -> Deployment:
    """A deployment: its latest spec and the status of each route."""
    return current_workspace().serving.get(name)


def list(limit: int = 1000, offset: int = 0) -> builtins.list[Deployment]:
    """Live deployments, by name."""
    return current_workspace().serving.list(limit, offset)


def history(name: str) -> builtins.list[DeploymentSpec]:
    """Every version of a deployment's spec, oldest first."""
    return current_workspace().serving.history(name)


def set_weight(name: str, route: str, weight: float | str, reason: str | None = None) -> DeploymentSpec:
    """Give ``route`` ``weight`` percent (``10`` or ``"10%"``); the primary takes the difference."""
    return current_workspace().serving.set_weight(name, route, weight, reason)


def undeploy(name: str, reason: str | None = None) -> None:
    """Stop serving ``name`` (its history stays)."""
    current_workspace().serving.undeploy(name, reason)


def resolve(name: str) -> builtins.list[ResolvedRoute]:
    """Each route with the model version it serves now (aliases followed)."""
    return current_workspace().serving.resolve(name)


def predictions(
    deployment: str,
    start: datetime | int | str | None = None,
    end: datetime | int | str | None = None,
    with_labels: bool = True,
) -> pd.DataFrame:
    """The prediction log of ``deployment`` in ``[start, end)`` as a DataFrame, with feedback
    labels joined (columns ``label``, ``label_ts_ms``)."""
    return current_workspace().serving.predictions(deployment, start, end, with_labels)


def feedback(
    items: Mapping[str, Any] | Sequence[Mapping[str, Any]], deployment: str | None = None
) -> FeedbackResult:
    """Store labels of logged predictions: ``{"request_id", "label", "ts"?}`` or a list of them.
    Answers ``{"accepted": n, "unknown": [request ids not in the log]}``."""
    return current_workspace().serving.record_feedback(items, deployment)


def predict_batch(
    model: str,
    input: str | Path,
    output: str | Path,
    *,
    executor: str = "local",
    chunk_size: int = 50_000,
    keep: Sequence[str] | None = None,
    trust: bool = False,
) -> BatchResult:
    """Score a Parquet file chunk by chunk into ``output`` (``executor="ray"`` to use Ray)."""
    return current_workspace().serving.predict_batch(
        model, input, output, executor=executor, chunk_size=chunk_size, keep=keep, trust=trust
    )
