"""From a list of feature references to what must be read: views, their features, on-demand steps.

``["user_stats:avg_amount_7d", "amount_ratio"]`` becomes a :class:`Plan`: the view
versions to read and which of their features (including those an on-demand feature
needs but nobody asked for), the on-demand features to compute, and the output column
of each requested feature, in request order. Unknown views, features and on-demand
features are refused here, naming the culprit, before anything is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.features.models import (
    ON_DEMAND,
    VIEW,
    Definition,
    FeatureService,
    FeatureView,
    OnDemandFeature,
)
from shipyard.features.refs import FeatureRef, parse_feature_ref

Lookup = Callable[[str, str, int | None], Definition | None]
"""``(kind, name, version or None for the latest) -> Definition | None``."""


@dataclass
class ViewPlan:
    """One view version to read: ``features`` become ``columns``; ``hidden`` ones only feed on-demand."""

    definition: Definition
    view: FeatureView
    features: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.view.name

    def column_of(self, feature: str) -> str:
        return self.columns[self.features.index(feature)]


@dataclass
class OnDemandPlan:
    """One on-demand feature to compute: its wanted outputs and their columns."""

    definition: Definition
    feature: OnDemandFeature
    outputs: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)  # input name -> column it is read from
    hidden: set[str] = field(default_factory=set)


@dataclass
class Plan:
    views: list[ViewPlan]
    on_demand: list[OnDemandPlan]
    columns: list[str]  # the requested features' columns, in request order

    @property
    def join_keys(self) -> list[str]:
        return list(dict.fromkeys(key for v in self.views for key in v.view.join_keys))

    @property
    def request_inputs(self) -> list[str]:
        return list(dict.fromkeys(i for p in self.on_demand for i in p.feature.request_inputs))


def requested(features: Any) -> list[str]:
    """The references of a ``features=`` argument: a list of refs/views/on-demand, or a FeatureService."""
    if isinstance(features, FeatureService):
        return list(features.features)  # type: ignore[arg-type]
    if isinstance(features, str | FeatureView | OnDemandFeature):
        features = [features]
    if not isinstance(features, Sequence) or not features:
        raise InvalidInputError(
            "name the features to retrieve: features=['view:feature', ...] or a FeatureService"
        )
    return list(FeatureService("request", features).features)  # type: ignore[arg-type]


class Planner:
    """Builds plans from definitions found through ``lookup``."""

    def __init__(self, lookup: Lookup, full_names: bool = False) -> None:
        self.lookup = lookup
        self.full_names = full_names
        self.views: dict[tuple[str, int], ViewPlan] = {}
        self.on_demand: dict[tuple[str, int], OnDemandPlan] = {}
        self.columns: list[str] = []

    def plan(self, refs: Sequence[str]) -> Plan:
        for text in refs:
            self._add(parse_feature_ref(text), hidden=False)
        taken: dict[str, str] = {}
        for ref, column in self._all_columns():
            if column in taken and taken[column] != ref:
                raise InvalidInputError(
                    f"two features would be column {column!r} ({taken[column]} and {ref}); "
                    "pass full_feature_names=True to name columns 'view__feature'"
                )
            taken[column] = ref
        return Plan(list(self.views.values()), list(self.on_demand.values()), self.columns)

    def _all_columns(self) -> list[tuple[str, str]]:
        pairs = [
            (f"{v.name}:{f}", c)
            for v in self.views.values()
            for f, c in zip(v.features, v.columns, strict=True)
        ]
        pairs += [
            (f"{p.feature.name}:{o}", c)
            for p in self.on_demand.values()
            for o, c in zip(p.outputs, p.columns, strict=True)
        ]
        return pairs

    def _column(self, owner: str, feature: str) -> str:
        return f"{owner}__{feature}" if self.full_names else feature

    def _add(self, ref: FeatureRef, hidden: bool) -> str | list[str]:
        definition = self.lookup(VIEW, ref.view, ref.version)
        if definition is not None:
            return self._add_view(definition, ref, hidden)
        definition = self.lookup(ON_DEMAND, ref.view, ref.version)
        if definition is not None:
            return self._add_on_demand(definition, ref, hidden)
        pinned = "" if ref.version is None else f" version {ref.version}"
        raise NotFoundError(
            f"unknown feature view or on-demand feature {ref.view!r}{pinned} (in {str(ref)!r}); "
            "apply its definition first (sy.features.apply / shipyard features apply)",
            details={"ref": str(ref)},
        )

    def _add_view(self, definition: Definition, ref: FeatureRef, hidden: bool) -> list[str]:
        view = definition.to_object()
        assert isinstance(view, FeatureView)
        names = list(view.feature_names) if ref.feature is None else [ref.feature]
        for name in names:
            if name not in view.feature_names:
                raise NotFoundError(
                    f"feature view {view.name!r} (version {definition.version}) has no feature {name!r}; "
                    f"its features: {', '.join(view.feature_names)}",
                    details={"ref": str(ref)},
                )
        plan = self.views.setdefault((view.name, definition.version), ViewPlan(definition, view))
        columns = []
        for name in names:
            if name not in plan.features:
                plan.features.append(name)
                plan.columns.append(self._column(view.name, name))
                plan.hidden.add(name)
            if not hidden:
                plan.hidden.discard(name)
                self._output(plan.column_of(name))
            columns.append(plan.column_of(name))
        return columns

    def _add_on_demand(self, definition: Definition, ref: FeatureRef, hidden: bool) -> list[str]:
        feature = definition.to_object()
        assert isinstance(feature, OnDemandFeature)
        names = list(feature.output_names) if ref.feature is None else [ref.feature]
        for name in names:
            if name not in feature.output_names:
                raise NotFoundError(
                    f"on-demand feature {feature.name!r} has no output {name!r}; "
                    f"its outputs: {', '.join(feature.output_names)}",
                    details={"ref": str(ref)},
                )
        key = (feature.name, definition.version)
        plan = self.on_demand.get(key)
        if plan is None:
            plan = OnDemandPlan(definition, feature)
            for text in feature.feature_inputs:
                source = parse_feature_ref(text)
                plan.inputs[source.feature or ""] = self._add(source, hidden=True)[0]
            self.on_demand[key] = plan
        for name in names:
            if name not in plan.outputs:
                plan.outputs.append(name)
                plan.columns.append(self._column(feature.name, name))
                plan.hidden.add(name)
            if not hidden:
                plan.hidden.discard(name)
                self._output(plan.columns[plan.outputs.index(name)])
        return [plan.columns[plan.outputs.index(n)] for n in names]

    def _output(self, column: str) -> None:
        if column not in self.columns:
            self.columns.append(column)
