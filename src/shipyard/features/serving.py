"""Online reads: entity rows in, a dict of column lists out, in well under a millisecond.

A request's plan (which views, features, columns, TTLs, on-demand functions) is built
once per distinct request shape and reused (see :class:`~shipyard.features.service.
FeaturesService`); a read then costs one key per entity and view, one store lookup per
view, an unpack per record and a TTL check. pandas is imported only when an on-demand
feature must run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.features.onlinestore.base import OnlineStore
from shipyard.features.onlinestore.codec import entity_key, unpack
from shipyard.features.plan import OnDemandPlan, Plan


@dataclass(frozen=True)
class OnlineView:
    name: str
    join_keys: tuple[str, ...]
    features: tuple[str, ...]
    columns: tuple[str, ...]
    ttl_ms: int | None
    dtypes: tuple[str, ...]


@dataclass(frozen=True)
class OnlinePlan:
    """Everything a read needs, resolved once."""

    views: tuple[OnlineView, ...]
    steps: tuple[tuple[OnDemandPlan, Callable[..., Any]], ...]
    columns: tuple[str, ...]

    @classmethod
    def build(cls, plan: Plan, function_of: Callable[[Any], Callable[..., Any]]) -> OnlinePlan:
        views = []
        for view in plan.views:
            ttl = view.view.ttl
            ttl_ms = None if ttl is None else ttl // _MILLISECOND
            dtypes = tuple(view.view.dtypes[f] for f in view.features)
            views.append(
                OnlineView(
                    view.name, view.view.join_keys, tuple(view.features), tuple(view.columns), ttl_ms, dtypes
                )
            )
        steps = tuple((step, function_of(step.feature)) for step in plan.on_demand)
        return cls(tuple(views), steps, tuple(plan.columns))


_MILLISECOND = timedelta(milliseconds=1)


def read(
    plan: OnlinePlan, store: OnlineStore, rows: Sequence[Mapping[str, Any]], now_ms: int
) -> dict[str, list[Any]]:
    """The request fields of ``rows`` and the planned features, one list per column."""
    if not _rows_of_dicts(rows) and (
        not isinstance(rows, Sequence)
        or isinstance(rows, str)
        or not all(isinstance(r, Mapping) for r in rows)
    ):
        raise InvalidInputError("entity_rows must be a list of {join key: value} objects")
    count = len(rows)
    fields = list(rows[0]) if count == 1 else list(dict.fromkeys(k for r in rows for k in r))
    out: dict[str, list[Any]] = {name: [r.get(name) for r in rows] for name in fields}
    found: dict[str, list[Any]] = {}
    for view in plan.views:
        _read_view(view, store, rows, now_ms, found)
    if plan.steps:
        _run_steps(plan, out, found)
    for column in plan.columns:
        out[column] = found[column]
    return out


def _rows_of_dicts(rows: Any) -> bool:
    """Whether ``rows`` is a list of plain dicts (what JSON gives): checked without the ABCs."""
    return type(rows) is list and all(type(row) is dict for row in rows)


def _read_view(
    view: OnlineView,
    store: OnlineStore,
    rows: Sequence[Mapping[str, Any]],
    now_ms: int,
    found: dict[str, list[Any]],
) -> None:
    try:
        if len(view.join_keys) == 1:
            (key,) = view.join_keys
            keys = [entity_key((row[key],)) for row in rows]
        else:
            keys = [entity_key([row[k] for k in view.join_keys]) for row in rows]
    except KeyError as exc:
        raise InvalidInputError(
            f"an entity row has no join key {exc.args[0]!r} (needed by feature view {view.name!r})",
            details={"missing": exc.args[0]},
        ) from None
    columns: list[list[Any]] = [[None] * len(rows) for _ in view.features]
    oldest = None if view.ttl_ms is None else now_ms - view.ttl_ms
    for i, raw in enumerate(store.read(view.name, keys)):
        if raw is None:
            continue
        values, event_ms = unpack(raw)
        if oldest is not None and event_ms <= oldest:
            continue
        for column, feature in zip(columns, view.features, strict=True):
            column[i] = values.get(feature)
    for name, column in zip(view.columns, columns, strict=True):
        found[name] = column


def _run_steps(plan: OnlinePlan, out: dict[str, list[Any]], found: dict[str, list[Any]]) -> None:
    import pyarrow as pa

    from shipyard.features.ondemand import compute, input_frame

    dtypes = {c: d for v in plan.views for c, d in zip(v.columns, v.dtypes, strict=True)}
    for step, function in plan.steps:
        inputs: dict[str, Any] = {}
        for text in step.feature.inputs:
            name = text.partition(":")[2] if ":" in text else text
            if name in step.inputs:
                column = step.inputs[name]
                inputs[name] = _typed(found[column], dtypes.get(column) or _dtype_of(plan, column))
            elif name in out:
                inputs[name] = pa.array(out[name], from_pandas=True)
            else:
                raise InvalidInputError(
                    f"the entity rows have no field {name!r}, "
                    f"an input of on-demand feature {step.feature.name!r}"
                )
        table = compute(step.feature, function, input_frame(inputs), step.outputs)
        for output, column in zip(step.outputs, step.columns, strict=True):
            found[column] = table.column(output).to_pylist()
            dtypes[column] = step.feature.dtypes[output]


def _dtype_of(plan: OnlinePlan, column: str) -> str:
    for step, _ in plan.steps:
        if column in step.columns:
            return step.feature.dtypes[step.outputs[step.columns.index(column)]]
    return "string"


def _typed(values: list[Any], dtype: str) -> Any:
    import pyarrow as pa

    kinds = {"int": pa.int64(), "float": pa.float64(), "string": pa.string(), "bool": pa.bool_()}
    return pa.array(values, type=kinds.get(dtype, pa.timestamp("us", tz="UTC")))
