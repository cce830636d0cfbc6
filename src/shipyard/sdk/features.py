"""The functions behind ``sy.features``: definitions, point-in-time retrieval, online serving."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    from shipyard.features.materialization import MaterializeReport
    from shipyard.features.models import ApplyChange, Definition, FeatureObject


def apply(
    objects: FeatureObject | Iterable[FeatureObject], force: bool = False
) -> builtins.list[ApplyChange]:
    """Register entities, feature views, on-demand features and feature services.

    A changed definition becomes a new version (the old one stays readable as
    ``name@version``); a change of a feature's type or of join keys needs ``force=True``.
    """
    return current_workspace().features.apply(objects, force=force)


def historical(
    entity_df: Any = None,
    features: Any = None,
    *,
    service: str | None = None,
    as_of: Any = None,
    timestamp_column: str | None = None,
    format: str = "pandas",
    full_feature_names: bool = False,
) -> Any:
    """Point-in-time correct training data.

    For each row of ``entity_df`` (join keys and a timestamp ``t``; naive timestamps are
    UTC), each feature's latest value with event time ``<= t`` and ``> t - ttl``; null
    when there is none. ``features`` lists ``"view:feature"`` references (or is a
    ``sy.FeatureService``; ``service="name"`` names a registered one). Without an entity
    frame, ``as_of=T`` gives every entity's values at ``T``. Returns a pandas DataFrame
    (``format="arrow"``: an Arrow table). Inside an active run, the feature view and
    dataset versions read are recorded as the run's inputs.
    """
    from shipyard.tracking import fluent

    run = fluent.active_run()
    return current_workspace().features.historical(
        entity_df,
        features,
        service=service,
        as_of=as_of,
        timestamp_column=timestamp_column,
        format=format,
        full_feature_names=full_feature_names,
        run_id=None if run is None else run.id,
    )


def materialize(
    views: Sequence[str] | None = None, start: Any = None, end: Any = None
) -> builtins.list[MaterializeReport]:
    """Write each entity's latest values (event time in ``[start, end]``, default: up to now) online."""
    return current_workspace().features.materialize(views, start, end)


def materialize_incremental(
    views: Sequence[str] | None = None, end: Any = None
) -> builtins.list[MaterializeReport]:
    """Materialise what arrived since each view's last materialisation."""
    return current_workspace().features.materialize_incremental(views, end)


def online(
    entity_rows: Sequence[dict[str, Any]],
    features: Any = None,
    *,
    service: str | None = None,
    full_feature_names: bool = False,
) -> dict[str, builtins.list[Any]]:
    """Online features of ``entity_rows`` as ``{column: [values]}`` (on-demand features computed)."""
    return current_workspace().features.online(
        entity_rows, features, service=service, full_feature_names=full_feature_names
    )


def list(kind: str | None = None) -> builtins.list[Definition]:
    """The latest version of every definition (``kind``: entity, feature_view, on_demand, feature_service)."""
    return current_workspace().features.list(kind)


def get(ref: str, kind: str | None = None) -> Definition:
    """A definition by ``"name"`` (the latest version) or ``"name@3"``."""
    return current_workspace().features.get(ref, kind)
