"""Use cases of the feature store: apply definitions, retrieve offline, materialise, serve online.

:class:`FeaturesService` is the only door into the feature registry and the online
store; the SDK (``sy.features``), the CLI and the server all go through it. (The
user-facing :class:`~shipyard.features.models.FeatureService` is a named set of
features, hence this class's plural name.)
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.features import retrieval, serving
from shipyard.features.changes import incompatible
from shipyard.features.materialization import MaterializeReport, Progress, write_view
from shipyard.features.models import (
    KINDS,
    ON_DEMAND,
    SERVICE,
    VIEW,
    ApplyChange,
    Definition,
    Entity,
    FeatureObject,
    FeatureService,
    FeatureView,
    OnDemandFeature,
    Watermark,
    kind_of,
    label,
    spec_digest,
)
from shipyard.features.ondemand import resolve_function
from shipyard.features.plan import Plan, Planner, requested
from shipyard.features.refs import parse_ref
from shipyard.features.store.base import FeatureRegistryStore

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.features.onlinestore.base import OnlineStore
    from shipyard.governance.service import AuditService
    from shipyard.tracking.service import TrackingService

PLAN_CACHE_S = 5.0
"""How long an online request plan is reused before the registry is read again."""
_SHOW_ORDER = (VIEW, SERVICE, ON_DEMAND, "entity")


class FeaturesService:
    """Feature definitions, point-in-time retrieval, materialisation and online reads.

    Collaborators may be given as instances or as zero-argument callables that build them
    on first use (serving online never opens the datasets service, for instance).
    """

    def __init__(
        self,
        store: FeatureRegistryStore | Callable[[], FeatureRegistryStore],
        datasets: DatasetService | Callable[[], DatasetService] | None = None,
        online: OnlineStore | Callable[[], OnlineStore] | None = None,
        audit: AuditService | Callable[[], AuditService] | None = None,
        tracking: TrackingService | Callable[[], TrackingService] | None = None,
        *,
        clock: Callable[[], int] = now_ms,
        plan_cache_s: float = PLAN_CACHE_S,
    ) -> None:
        self._sources: dict[str, Any] = {
            "store": store, "datasets": datasets, "online": online, "audit": audit, "tracking": tracking,
        }  # fmt: skip
        self.clock = clock
        self.plan_cache_s = plan_cache_s
        self._local: dict[str, OnDemandFeature] = {}
        self._plans: dict[Any, tuple[float, serving.OnlinePlan]] = {}

    def _provided(self, name: str) -> Any:
        source = self._sources[name]
        if callable(source):  # a provider: stores and services are not callable
            source = self._sources[name] = source()
        return source

    @property
    def store(self) -> FeatureRegistryStore:
        store: FeatureRegistryStore = self._provided("store")
        return store

    @property
    def datasets(self) -> DatasetService | None:
        datasets: DatasetService | None = self._provided("datasets")
        return datasets

    @property
    def audit(self) -> AuditService | None:
        audit: AuditService | None = self._provided("audit")
        return audit

    @property
    def online_store(self) -> OnlineStore:
        online: OnlineStore | None = self._provided("online")
        if online is None:
            raise InvalidInputError("this workspace has no online store: set SHIPYARD_ONLINE_URI")
        return online

    def close(self) -> None:
        """Close the registry and online stores that were opened."""
        for name in ("store", "online"):
            source = self._sources[name]
            if source is not None and hasattr(source, "close"):
                source.close()

    # -- definitions -----------------------------------------------------------------
    def apply(
        self, objects: FeatureObject | Iterable[FeatureObject], *, force: bool = False
    ) -> list[ApplyChange]:
        """Register definitions; each changed one becomes a new version of its name.

        Entities of the views are registered with them. A change that breaks users (a
        feature's type, the join keys) is refused with :class:`ConflictError` unless
        ``force``, and nothing is written when anything is refused.
        """
        items = _collect(objects)
        pending: dict[tuple[str, str], Definition] = {}
        latest: dict[tuple[str, str], Definition | None] = {}
        refused: list[str] = []
        forced: dict[tuple[str, str], list[str]] = {}
        for kind, obj in items:
            key = (kind, obj.name)
            spec = obj.spec()
            current = latest[key] = self.store.find_latest(kind, obj.name)
            if current is not None and current.digest == spec_digest(spec):
                continue
            problems = [] if current is None else incompatible(kind, current.spec, spec)
            if problems and not force:
                refused.append(f"{label(kind)} {obj.name!r}: " + "; ".join(problems))
            forced[key] = problems
            number = 1 if current is None else current.version + 1
            pending[key] = _draft(kind, obj.name, number, spec)
        if refused:
            raise ConflictError(
                "incompatible changes (apply with force=True / --force to record them as new versions): "
                + " | ".join(refused),
                details={"refused": refused},
            )
        self._check_consistent(items, pending)
        changes = [self._record(kind, obj, pending, latest, forced) for kind, obj in items]
        self._local.update({obj.name: obj for kind, obj in items if isinstance(obj, OnDemandFeature)})
        self._plans.clear()
        return changes

    def _record(
        self,
        kind: str,
        obj: FeatureObject,
        pending: dict[tuple[str, str], Definition],
        latest: dict[tuple[str, str], Definition | None],
        forced: dict[tuple[str, str], list[str]],
    ) -> ApplyChange:
        key = (kind, obj.name)
        current = latest[key]
        if key not in pending:
            assert current is not None
            return ApplyChange(kind, obj.name, current.version, "unchanged")
        expected = 0 if current is None else current.version
        stored = self.store.create_definition(pending[key], expected_version=expected)
        notes = tuple(forced.get(key, ()))
        audit = self.audit
        if audit is not None and stored.id == pending[key].id:
            from shipyard.core.actors import current_actor

            payload = {"digest": stored.digest, "forced": list(notes)}
            audit.record(current_actor(), "features.apply", f"{kind}:{stored.ref}", payload)
        return ApplyChange(kind, obj.name, stored.version, "created" if current is None else "updated", notes)

    def _check_consistent(
        self, items: list[tuple[str, FeatureObject]], pending: dict[tuple[str, str], Definition]
    ) -> None:
        """Names do not clash across views and on-demand features; every reference resolves."""
        from shipyard.features.sources import check_select

        for kind, obj in items:
            other = ON_DEMAND if kind == VIEW else VIEW if kind == ON_DEMAND else None
            clash = other is not None and (
                any(k == other and o.name == obj.name for k, o in items)
                or self.store.find_latest(other, obj.name)
            )
            if clash:
                raise InvalidInputError(
                    f"{label(kind)} {obj.name!r}: a {label(other or '')} has that name; feature references "
                    "('name:feature') must name one of them"
                )
            if isinstance(obj, FeatureView) and obj.source.lstrip().lower().startswith(
                ("select", "with", "from", "(")
            ):
                check_select(obj.source, f"feature view {obj.name!r}")

        def lookup(kind: str, name: str, version: int | None) -> Definition | None:
            mine = pending.get((kind, name))
            if mine is not None and version in (None, mine.version):
                return mine
            return self._lookup(kind, name, version)

        for kind, obj in items:
            refs = list(obj.features) if isinstance(obj, FeatureService) else None
            if isinstance(obj, OnDemandFeature):
                refs = list(obj.feature_inputs)
            if refs:
                try:
                    Planner(lookup).plan(refs)  # type: ignore[arg-type]
                except (NotFoundError, InvalidInputError) as exc:
                    raise InvalidInputError(f"{label(kind)} {obj.name!r}: {exc.message}") from exc

    def get(self, ref: str, kind: str | None = None) -> Definition:
        """A definition by ``"name"`` (the latest) or ``"name@3"``; views first when ``kind`` is None."""
        parsed = parse_ref(ref)
        kinds = (kind,) if kind is not None else _SHOW_ORDER
        for each in kinds:
            if each not in KINDS:
                raise InvalidInputError(f"unknown definition kind {each!r}; known: {', '.join(KINDS)}")
            found = self._lookup(each, parsed.name, None)
            if found is None:
                continue
            if parsed.version is None:
                return found
            return self.store.get_definition(each, parsed.name, parsed.version)
        what = label(kind) if kind is not None else "feature definition"
        raise NotFoundError(f"{what} {parsed.name!r} not found")

    def list(self, kind: str | None = None, limit: int = 1000, offset: int = 0) -> builtins.list[Definition]:
        """The latest version of every definition (of ``kind``), by kind then name."""
        if kind is not None and kind not in KINDS:
            raise InvalidInputError(f"unknown definition kind {kind!r}; known: {', '.join(KINDS)}")
        return self.store.list_definitions(kind, limit=max(1, limit), offset=max(0, offset))

    def versions(self, name: str, kind: str | None = None) -> builtins.list[Definition]:
        """Every version of a definition, oldest first."""
        found = self.get(name, kind)
        return self.store.list_versions(found.kind, found.name)

    def watermarks(self) -> builtins.list[Watermark]:
        return self.store.list_watermarks()

    def _lookup(self, kind: str, name: str, version: int | None) -> Definition | None:
        if version is None:
            return self.store.find_latest(kind, name)
        try:
            return self.store.get_definition(kind, name, version)
        except NotFoundError:
            return None

    # -- retrieval -------------------------------------------------------------------
    def plan(
        self, features: Any = None, service: str | None = None, full_feature_names: bool = False
    ) -> Plan:
        """What a request for ``features`` (or a registered feature service) reads."""
        if (features is None) == (service is None):
            raise InvalidInputError("pass either features=[...] or service='name'")
        if service is not None:
            definition = self.get(service, SERVICE)
            features = FeatureService.from_spec(definition.spec)
        refs = requested(features)
        try:
            return Planner(self._lookup, full_feature_names).plan(refs)
        except NotFoundError as exc:
            named = [r for r in refs if ":" not in r and self._lookup(SERVICE, r.partition("@")[0], None)]
            if named:
                raise NotFoundError(
                    f"{exc.message}; {named[0]!r} is a feature service: pass service={named[0]!r}"
                ) from exc
            raise

    def function_of(self, feature: OnDemandFeature) -> Callable[..., Any]:
        """The Python function of an applied on-demand feature."""
        return resolve_function(feature, self._local)

    def historical(
        self,
        entity_df: Any = None,
        features: Any = None,
        *,
        service: str | None = None,
        as_of: Any = None,
        timestamp_column: str | None = None,
        format: str = "pandas",
        full_feature_names: bool = False,
        run_id: str | None = None,
    ) -> Any:
        """Point-in-time correct features for each row of ``entity_df``, or every entity ``as_of`` a time.

        With ``run_id`` the view versions and dataset versions read are recorded as the
        run's inputs.
        """
        plan = self.plan(features, service, full_feature_names)
        if (entity_df is None) == (as_of is None):
            raise InvalidInputError("pass either an entity frame or as_of=<time>")
        if as_of is not None:
            result = retrieval.as_of(
                plan, as_of, datasets=lambda: self.datasets, function_of=self.function_of, format=format
            )
        else:
            result = retrieval.historical(
                plan,
                entity_df,
                datasets=lambda: self.datasets,
                function_of=self.function_of,
                timestamp_column=timestamp_column,
                format=format,
            )
        if run_id is not None:
            self._log_inputs(run_id, plan, result)
        return result.data

    def _log_inputs(self, run_id: str, plan: Plan, result: retrieval.Retrieved) -> None:
        from shipyard.tracking.models import RunInput

        tracking: TrackingService | None = self._provided("tracking")
        if tracking is None:
            return
        used = [
            RunInput("feature_view", v.definition.ref, v.definition.digest, "training") for v in plan.views
        ]
        used += [
            RunInput("on_demand", s.definition.ref, s.definition.digest, "training") for s in plan.on_demand
        ]
        used += [RunInput("dataset", d.ref, d.digest, "training") for d in result.datasets]
        tracking.log_inputs(run_id, used)

    # -- online ----------------------------------------------------------------------
    def materialize(
        self,
        views: Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        *,
        progress: Progress | None = None,
    ) -> builtins.list[MaterializeReport]:
        """Write each entity's latest values (event time in ``[start, end]``, default up to now) online."""
        end_us = self.clock() * 1000 if end is None else retrieval.instant(end, "end")
        start_us = None if start is None else retrieval.instant(start, "start")
        if start_us is not None and start_us > end_us:
            raise InvalidInputError("start must not be after end")
        chosen = self._views(views)
        return self._materialize([(d, start_us) for d in chosen], end_us, progress)

    def materialize_incremental(
        self, views: Sequence[str] | None = None, end: Any = None, *, progress: Progress | None = None
    ) -> builtins.list[MaterializeReport]:
        """Materialise what arrived since each view's last materialisation (all of it the first time,
        and after the view changed)."""
        end_us = self.clock() * 1000 if end is None else retrieval.instant(end, "end")
        work = []
        for definition in self._views(views):
            mark = self.store.find_watermark(definition.name)
            fresh = mark is not None and mark.version == definition.version
            work.append((definition, mark.end_ms * 1000 + 1 if fresh and mark else None))
        return self._materialize(work, end_us, progress)

    def _views(self, names: Sequence[str] | None) -> builtins.list[Definition]:
        if names is None:
            return self.store.list_definitions(VIEW, limit=100_000)
        if isinstance(names, str):
            names = [names]
        return [self.get(name, VIEW) for name in names]

    def _materialize(
        self, work: builtins.list[tuple[Definition, int | None]], end_us: int, progress: Progress | None
    ) -> builtins.list[MaterializeReport]:
        from shipyard.core.actors import current_actor
        from shipyard.features.sources import open_source

        online = self.online_store
        con = retrieval.connect()
        reports = []
        try:
            views = [d.to_object() for d, _ in work]
            sources = [open_source(con, v, lambda: self.datasets) for v in views]  # type: ignore[arg-type]
            for number, ((definition, start_us), source) in enumerate(zip(work, sources, strict=True)):
                began = time.perf_counter()
                source.prepare(con, f"__sy_source_{number}")
                start = None if start_us is None else retrieval.in_unit(start_us, source.unit)
                rows = write_view(
                    con, source, online, retrieval.in_unit(end_us, source.unit), start, progress
                )
                end_ms = end_us // 1000
                start_ms = None if start_us is None else start_us // 1000
                mark = Watermark(
                    definition.name, definition.version, end_ms, start_ms, rows, now_ms(), current_actor()
                )
                self.store.set_watermark(mark)
                reports.append(
                    MaterializeReport(
                        definition.name,
                        definition.version,
                        rows,
                        start_ms,
                        end_ms,
                        time.perf_counter() - began,
                    )
                )
        finally:
            con.close()
        return reports

    def online(
        self,
        entity_rows: Sequence[dict[str, Any]],
        features: Any = None,
        *,
        service: str | None = None,
        full_feature_names: bool = False,
    ) -> dict[str, builtins.list[Any]]:
        """The latest materialised features of each entity row, as ``{column: [values]}``.

        Values older than their view's TTL (relative to now) are null; on-demand features
        are computed from the entity rows' other fields.
        """
        return serving.read(
            self._online_plan(features, service, full_feature_names),
            self.online_store,
            entity_rows,
            self.clock(),
        )

    def _online_plan(self, features: Any, service: str | None, full: bool) -> serving.OnlinePlan:
        try:
            key: Any = (tuple(features) if isinstance(features, builtins.list) else features, service, full)
            hash(key)
        except TypeError:
            key = None
        now = time.monotonic()
        cached = self._plans.get(key) if key is not None else None
        if cached is not None and cached[0] > now:
            return cached[1]
        plan = serving.OnlinePlan.build(self.plan(features, service, full), self.function_of)
        if key is not None:
            self._plans[key] = (now + self.plan_cache_s, plan)
        return plan


def _draft(kind: str, name: str, number: int, spec: dict[str, Any]) -> Definition:
    from shipyard.core.actors import current_actor

    return Definition(new_id(), kind, name, number, spec_digest(spec), spec, now_ms(), current_actor())


def _collect(objects: FeatureObject | Iterable[FeatureObject]) -> builtins.list[tuple[str, FeatureObject]]:
    """``objects`` with their kinds, entities of views added, in :data:`KINDS` order; no name twice."""
    if isinstance(objects, Entity | FeatureView | OnDemandFeature | FeatureService):
        objects = [objects]
    found: dict[tuple[str, str], FeatureObject] = {}

    def add(obj: FeatureObject) -> None:
        key = (kind_of(obj), obj.name)
        if key in found and found[key] != obj:
            raise InvalidInputError(f"two different {label(key[0])} definitions are named {obj.name!r}")
        found[key] = obj

    for obj in objects:
        add(obj)
        if isinstance(obj, FeatureView):
            for entity in obj.entities:
                add(entity)
    if not found:
        raise InvalidInputError(
            "nothing to apply: pass entities, feature views, on-demand features or services"
        )
    ordered = sorted(found.items(), key=lambda item: (KINDS.index(item[0][0]), item[0][1]))
    return [(kind, obj) for (kind, _), obj in ordered]
