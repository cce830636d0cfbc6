"""What the feature store keeps: entities, feature views, on-demand features, feature services.

Plain objects, no I/O. Each is checked when it is built (a bad one raises
:class:`~shipyard.core.errors.InvalidInputError` naming what is wrong) and has a
canonical spec, a JSON-able dictionary whose digest identifies it: applying an
object whose spec changed records a new version of its name.

>>> user = Entity(name="user", join_keys=["user_id"])
>>> view = FeatureView(
...     name="user_stats", entities=[user], source="transactions@3", timestamp_field="event_time",
...     ttl=timedelta(days=30), features={"avg_amount_7d": "float", "tx_count_7d": "int"},
... )
>>> view.join_keys, view.feature_names
(('user_id',), ('avg_amount_7d', 'tx_count_7d'))
>>> FeatureView.from_spec(view.spec()) == view
True
"""

from __future__ import annotations

import inspect
import os
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import orjson

from shipyard.core.errors import InvalidInputError
from shipyard.features.refs import (
    check_column,
    check_dtype,
    check_feature_name,
    check_name,
    parse_feature_ref,
)
from shipyard.storage.digests import digest_bytes

ENTITY, VIEW, ON_DEMAND, SERVICE = "entity", "feature_view", "on_demand", "feature_service"
KINDS = (ENTITY, VIEW, ON_DEMAND, SERVICE)
"""Kinds of definitions, in the order :func:`apply` records them."""
_LABELS = {ENTITY: "entity", VIEW: "feature view", ON_DEMAND: "on-demand feature", SERVICE: "feature service"}


def label(kind: str) -> str:
    """How messages name a kind.

    >>> label("feature_view")
    'feature view'
    """
    return _LABELS.get(kind, kind)


MAX_TTL = timedelta(days=365_000)
_SQL = re.compile(r"\s*(select|with|from|\()", re.IGNORECASE)


def spec_digest(spec: Mapping[str, Any]) -> str:
    """The digest of a canonical spec (JSON, keys sorted)."""
    return digest_bytes(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS))


def source_kind(source: str) -> str:
    """``"sql"``, ``"path"`` (a file or glob) or ``"dataset"`` (``NAME`` or ``NAME@V``).

    >>> [source_kind(s) for s in ("sales@3", "data/*.parquet", "SELECT * FROM 'a.parquet'")]
    ['dataset', 'path', 'sql']
    """
    if _SQL.match(source):
        return "sql"
    if any(c in source for c in "/\\*?[") or source.lower().endswith((".parquet", ".pq", ".csv", ".jsonl")):
        return "path"
    return "dataset"


def _pairs(values: Mapping[str, str] | Iterable[Sequence[str]], what: str) -> tuple[tuple[str, str], ...]:
    items = list(values.items()) if isinstance(values, Mapping) else [tuple(v) for v in values]
    pairs = []
    for item in items:
        if len(item) != 2:
            raise InvalidInputError(f"{what}: expected name -> dtype pairs, got {item!r}")
        name = check_feature_name(item[0], f"{what} name")
        pairs.append((name, check_dtype(item[1], f"{what} {name!r}")))
    if not pairs:
        raise InvalidInputError(f"{what}: declare at least one, as {{name: dtype}}")
    if len({name for name, _ in pairs}) != len(pairs):
        raise InvalidInputError(f"{what}: a name appears twice in {[n for n, _ in pairs]}")
    return tuple(pairs)


def _as_pairs(values: object) -> tuple[tuple[str, str], ...]:
    """The ``(name, dtype)`` pairs a checked object holds (``_pairs`` made them so)."""
    return cast("tuple[tuple[str, str], ...]", values)


@dataclass(frozen=True)
class Entity:
    """Something features describe (a user, a card), identified by its join-key columns."""

    name: str
    join_keys: Sequence[str]
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "entity")
        keys = [self.join_keys] if isinstance(self.join_keys, str) else list(self.join_keys or ())
        if not keys:
            raise InvalidInputError(f"entity {self.name!r} needs at least one join key")
        for key in keys:
            check_column(key, f"join key of entity {self.name!r}")
        if len(set(keys)) != len(keys):
            raise InvalidInputError(f"entity {self.name!r} lists a join key twice: {keys}")
        object.__setattr__(self, "join_keys", tuple(keys))

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "join_keys": list(self.join_keys), "description": self.description}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Entity:
        return cls(spec["name"], spec["join_keys"], spec.get("description", ""))


@dataclass(frozen=True, kw_only=True)
class FeatureView:
    """Features of entities read from a source, each row valid from its ``timestamp_field`` on.

    ``source`` is a dataset reference (``"transactions@3"``, or ``"transactions"`` for the
    latest version at retrieval), a Parquet file or glob (a relative path is taken from
    the working directory when the view is defined), or a DuckDB ``SELECT`` over those, in
    which ``{transactions@3}`` stands for a dataset version. ``ttl`` (a positive
    timedelta, or None for no limit) is how long a row stays valid. Rows with the same
    entity and event time are told apart by ``created_timestamp_field`` (the latest
    wins), then by their order in the source (the last wins).
    """

    name: str
    entities: Sequence[Entity]
    source: str
    features: Mapping[str, str] | Sequence[tuple[str, str]]
    timestamp_field: str
    created_timestamp_field: str | None = None
    ttl: timedelta | None = None
    description: str = ""

    def __post_init__(self) -> None:
        what = f"feature view {check_name(self.name, 'feature view')!r}"
        entities = [self.entities] if isinstance(self.entities, Entity) else list(self.entities or ())
        if not entities or not all(isinstance(e, Entity) for e in entities):
            raise InvalidInputError(f"{what}: entities must be a non-empty list of sy.Entity objects")
        object.__setattr__(self, "entities", tuple(entities))
        object.__setattr__(self, "source", _check_source(self.source, what))
        object.__setattr__(self, "features", _pairs(self.features, f"{what}: feature"))
        check_column(self.timestamp_field, f"{what}: timestamp_field")
        if self.created_timestamp_field is not None:
            check_column(self.created_timestamp_field, f"{what}: created_timestamp_field")
        _check_ttl(self.ttl, what)
        keys = self.join_keys
        if len(set(keys)) != len(keys):
            raise InvalidInputError(f"{what}: its entities share a join key: {list(keys)}")
        reserved = {*keys, self.timestamp_field, self.created_timestamp_field}
        clash = [name for name in self.feature_names if name in reserved]
        if clash:
            raise InvalidInputError(f"{what}: feature {clash[0]!r} is also a join key or timestamp field")

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(key for entity in self.entities for key in entity.join_keys)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in _as_pairs(self.features))

    @property
    def dtypes(self) -> dict[str, str]:
        return dict(_as_pairs(self.features))

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entities": [e.spec() for e in self.entities],
            "source": self.source,
            "features": [list(pair) for pair in self.features],
            "timestamp_field": self.timestamp_field,
            "created_timestamp_field": self.created_timestamp_field,
            "ttl_us": None if self.ttl is None else self.ttl // timedelta(microseconds=1),
            "description": self.description,
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> FeatureView:
        ttl = spec.get("ttl_us")
        return cls(
            name=spec["name"],
            entities=[Entity.from_spec(e) for e in spec["entities"]],
            source=spec["source"],
            features=[tuple(pair) for pair in spec["features"]],
            timestamp_field=spec["timestamp_field"],
            created_timestamp_field=spec.get("created_timestamp_field"),
            ttl=None if ttl is None else timedelta(microseconds=ttl),
            description=spec.get("description", ""),
        )


def _check_source(source: object, what: str) -> str:
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source.strip():
        raise InvalidInputError(f"{what}: source must be a dataset reference, a Parquet path or a SQL query")
    kind = source_kind(source)
    if kind == "path":
        return str(Path(source).expanduser().absolute())
    if kind == "dataset":
        from shipyard.datasets.refs import parse_ref as parse_dataset_ref

        try:
            parse_dataset_ref(source)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"{what}: source {source!r} is neither a dataset reference (NAME or NAME@VERSION), "
                "a Parquet path or glob, nor a SELECT query"
            ) from exc
    return source.strip() if kind == "sql" else source


def _check_ttl(ttl: object, what: str) -> None:
    if ttl is None:
        return
    if not isinstance(ttl, timedelta):
        raise InvalidInputError(f"{what}: ttl must be a datetime.timedelta or None, got {ttl!r}")
    if ttl <= timedelta(0):
        raise InvalidInputError(f"{what}: ttl must be positive, got {ttl!r}; use None for no limit")
    if ttl > MAX_TTL:
        raise InvalidInputError(f"{what}: ttl must be at most {MAX_TTL.days} days; use None for no limit")


@dataclass(frozen=True, eq=False)
class OnDemandFeature:
    """Features computed from request data and other features by a Python function.

    Build it with :func:`on_demand`. The function takes a pandas DataFrame with one column
    per input (a feature input is named by its feature name, ``"user_stats:avg"`` by
    ``"avg"``) and returns a DataFrame or a dict of columns with the declared outputs. The
    same function runs in :func:`historical` and in :func:`online`; the spec records its
    source, so serving refuses a function that changed since it was applied.
    """

    name: str
    inputs: Sequence[str]
    outputs: Mapping[str, str] | Sequence[tuple[str, str]]
    function: Callable[..., Any] | None = None
    module: str = ""
    qualname: str = ""
    source: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        what = f"on-demand feature {check_name(self.name, 'on-demand feature')!r}"
        inputs = [self.inputs] if isinstance(self.inputs, str) else list(self.inputs or ())
        if not inputs:
            raise InvalidInputError(f"{what}: list its inputs, e.g. inputs=['user_stats:avg', 'amount']")
        names = [input_name(text, what) for text in inputs]
        if len(set(names)) != len(names):
            raise InvalidInputError(f"{what}: two inputs have the same column name: {names}")
        object.__setattr__(self, "inputs", tuple(inputs))
        object.__setattr__(self, "outputs", _pairs(self.outputs, f"{what}: output"))
        clash = set(names) & set(self.output_names)
        if clash:
            raise InvalidInputError(f"{what}: {sorted(clash)[0]!r} is both an input and an output")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.function is None:
            raise InvalidInputError(
                f"on-demand feature {self.name!r} was read from the registry: no function"
            )
        return self.function(*args, **kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OnDemandFeature) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash((self.name, self.code_digest))

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in _as_pairs(self.outputs))

    @property
    def dtypes(self) -> dict[str, str]:
        return dict(_as_pairs(self.outputs))

    @property
    def feature_inputs(self) -> tuple[str, ...]:
        """The inputs that are features (``view:feature``)."""
        return tuple(text for text in self.inputs if ":" in text)

    @property
    def request_inputs(self) -> tuple[str, ...]:
        """The inputs that come with the request (the entity frame or entity rows)."""
        return tuple(text for text in self.inputs if ":" not in text)

    @property
    def code_digest(self) -> str:
        """The digest of the function's source (of ``module:qualname`` when the source is unknown)."""
        return digest_bytes((self.source or f"{self.module}:{self.qualname}").encode())

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs": list(self.inputs),
            "outputs": [list(pair) for pair in self.outputs],
            "function": f"{self.module}:{self.qualname}",
            "source": self.source,
            "code_digest": self.code_digest,
            "description": self.description,
        }

    @classmethod
    def from_spec(
        cls, spec: Mapping[str, Any], function: Callable[..., Any] | None = None
    ) -> OnDemandFeature:
        module, _, qualname = str(spec.get("function", ":")).partition(":")
        return cls(
            name=spec["name"],
            inputs=spec["inputs"],
            outputs=[tuple(pair) for pair in spec["outputs"]],
            function=function,
            module=module,
            qualname=qualname,
            source=spec.get("source", ""),
            description=spec.get("description", ""),
        )


def input_name(text: object, what: str = "on-demand feature") -> str:
    """The column name an input gets in the function's DataFrame.

    >>> input_name("user_stats:avg_amount_7d"), input_name("amount")
    ('avg_amount_7d', 'amount')
    """
    if isinstance(text, str) and ":" in text:
        ref = parse_feature_ref(text)
        if ref.feature is None:
            raise InvalidInputError(f"{what}: input {text!r} must name one feature, as 'view:feature'")
        return ref.feature
    return check_column(text, f"{what}: input")


def on_demand(
    inputs: Sequence[str],
    outputs: Mapping[str, str],
    *,
    name: str | None = None,
    description: str = "",
) -> Callable[[Callable[..., Any]], OnDemandFeature]:
    """Declare an on-demand feature; the decorated function becomes an :class:`OnDemandFeature`.

    >>> @on_demand(inputs=["user_stats:avg_amount_7d", "amount"], outputs={"amount_ratio": "float"})
    ... def amount_ratio(df):
    ...     return {"amount_ratio": df["amount"] / df["avg_amount_7d"]}
    >>> amount_ratio.name, amount_ratio.request_inputs
    ('amount_ratio', ('amount',))
    """

    def wrap(function: Callable[..., Any]) -> OnDemandFeature:
        if not callable(function):
            raise InvalidInputError(f"@on_demand decorates a function, got {function!r}")
        try:
            source = textwrap.dedent(inspect.getsource(function))
        except (OSError, TypeError):  # defined in a REPL or by exec: nothing to record
            source = ""
        return OnDemandFeature(
            name=name or function.__name__,
            inputs=inputs,
            outputs=outputs,
            function=function,
            module=getattr(function, "__module__", "") or "",
            qualname=getattr(function, "__qualname__", "") or "",
            source=source,
            description=description or (inspect.getdoc(function) or "").split("\n\n")[0],
        )

    return wrap


@dataclass(frozen=True)
class FeatureService:
    """A named set of features a model uses: ``"view:feature"`` strings, views or on-demand features."""

    name: str
    features: Sequence[str | FeatureView | OnDemandFeature]
    description: str = ""

    def __post_init__(self) -> None:
        what = f"feature service {check_name(self.name, 'feature service')!r}"
        refs: list[str] = []
        items = [self.features] if isinstance(self.features, str) else list(self.features or ())
        for item in items:
            if isinstance(item, FeatureView):
                refs.extend(f"{item.name}:{f}" for f in item.feature_names)
            elif isinstance(item, OnDemandFeature):
                refs.extend(f"{item.name}:{f}" for f in item.output_names)
            else:
                refs.append(str(parse_feature_ref(item)))
        if not refs:
            raise InvalidInputError(f"{what}: list at least one feature")
        object.__setattr__(self, "features", tuple(dict.fromkeys(refs)))

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "features": list(self.features), "description": self.description}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> FeatureService:
        return cls(spec["name"], spec["features"], spec.get("description", ""))


FeatureObject = Entity | FeatureView | OnDemandFeature | FeatureService
_CLASSES: dict[str, Any] = {
    ENTITY: Entity,
    VIEW: FeatureView,
    ON_DEMAND: OnDemandFeature,
    SERVICE: FeatureService,
}


def kind_of(obj: object) -> str:
    """The kind of a definition object; :class:`InvalidInputError` for anything else."""
    for kind, cls in _CLASSES.items():
        if isinstance(obj, cls):
            return kind
    raise InvalidInputError(
        f"cannot apply {obj!r}: expected sy.Entity, sy.FeatureView, sy.FeatureService or an @sy.on_demand"
    )


def from_spec(kind: str, spec: Mapping[str, Any]) -> FeatureObject:
    """The object a stored spec describes (an on-demand feature without its function)."""
    cls = _CLASSES.get(kind)
    if cls is None:
        raise InvalidInputError(f"unknown definition kind {kind!r}; known: {', '.join(KINDS)}")
    try:
        obj: FeatureObject = cls.from_spec(spec)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInputError(f"malformed {kind} spec: {exc!r}") from exc
    return obj


@dataclass(frozen=True)
class Definition:
    """One stored version of a named object: its kind, number, canonical spec and digest."""

    id: str
    kind: str
    name: str
    version: int
    digest: str
    spec: dict[str, Any]
    created_at: int
    created_by: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_object(self) -> FeatureObject:
        return from_spec(self.kind, self.spec)


@dataclass(frozen=True)
class Watermark:
    """How far a view was materialised: rows with event time up to ``end_ms`` are online."""

    view: str
    version: int
    end_ms: int
    start_ms: int | None = None
    rows: int = 0
    updated_at: int = 0
    updated_by: str = ""


@dataclass(frozen=True)
class ApplyChange:
    """What :meth:`FeaturesService.apply` did with one object."""

    kind: str
    name: str
    version: int
    status: str  # "created" (a new name), "updated" (a new version), "unchanged"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"
