"""The deployments a data plane serves, kept in step with the control plane.

Every ``poll_interval_s`` (at most 2 s) a poller asks the serving service for each
deployment's spec and its routes resolved through the registry (aliases followed). When
what they say differs from what is served, the new model versions are loaded in a
background thread and the deployment's :class:`LiveDeployment`, an immutable snapshot,
is swapped in one assignment. A request reads the snapshot once, so it is answered
entirely by the old or entirely by the new one: no request fails during a change.
Replaced models keep their runner for a grace period, for requests still on them.

A model that fails to load leaves the route on the version it served before (or, for a
new route, out of the table); the failure goes to the serving service
(``report_status``, shown by ``shipyard deployments show``) and to the log, and the
load is retried only when the spec or an alias changes again, or after ``RETRY_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import NotFoundError
from shipyard.server.dataplane.inputs import InputPlan
from shipyard.server.dataplane.runners import BatchRunner, DirectRunner, Runner, probe_seconds
from shipyard.serving.routing import RouteTable

if TYPE_CHECKING:
    from shipyard.models.package import LoadedModel
    from shipyard.server.dataplane.metrics import ServingMetrics
    from shipyard.serving.models import Batching, Deployment, ResolvedRoute
    from shipyard.serving.service import ServingService

log = logging.getLogger("shipyard.serving.dataplane")
RETRY_S = 60.0
GRACE_S = 10.0
# A model whose one-row call takes less than this runs on the event loop: a thread
# hand-over and the contention for the GIL would cost more than the call.
INLINE_BELOW_S = 0.002


@dataclass(eq=False)
class Target:
    """One loaded model version and the runner that calls it."""

    model: LoadedModel
    model_name: str
    version: int
    package_digest: str
    plan: InputPlan
    runner: Runner
    inline: bool  # called on the event loop (a fast model) rather than in a thread

    @property
    def model_version(self) -> str:
        return f"{self.model_name}:{self.version}"


@dataclass(frozen=True)
class LiveRoute:
    name: str
    mode: str
    weight: float
    target: Target


@dataclass(frozen=True)
class LiveDeployment:
    """What one deployment serves now; replaced whole, never changed."""

    name: str
    spec_version: int
    routes: tuple[LiveRoute, ...]  # the live (non-shadow) routes, in the table's order
    table: RouteTable
    shadows: tuple[LiveRoute, ...]
    routing_key: str | None
    features: str | None
    wanted: tuple[Any, ...] = field(repr=False)  # the resolved spec it was built from

    def route_for(self, key: str | None) -> LiveRoute:
        return self.routes[self.table.pick_index(key)]

    @property
    def main(self) -> LiveRoute:
        """The route that describes the deployment (V2 metadata): the primary, else the heaviest."""
        primary = [r for r in self.routes if r.mode == "primary"]
        return primary[0] if primary else max(self.routes, key=lambda r: r.weight)


class LiveDeployments:
    """The served deployments: startup load, polling, background loads, atomic swaps."""

    def __init__(
        self,
        serving: ServingService,
        load_model: Callable[[str], LoadedModel],
        *,
        names: list[str] | None,
        poll_interval_s: float,
        executor: Executor,
        loader: Executor,
        metrics: ServingMetrics,
        inline_below_s: float = INLINE_BELOW_S,
    ) -> None:
        self.serving = serving
        self.load_model = load_model
        self.names = names
        self.poll_interval_s = poll_interval_s
        self.executor = executor
        self.loader = loader
        self.metrics = metrics
        self.inline_below_s = inline_below_s
        self._inline: dict[str, bool] = {}  # by package digest: fast enough to call on the loop
        self.snapshots: dict[str, LiveDeployment] = {}
        self.errors: dict[str, str] = {}  # deployments that cannot serve now, and why
        self.missing: set[str] = set()  # deployments the control plane does not know
        self._models: dict[str, LoadedModel] = {}  # by package digest
        self._targets: dict[tuple[Any, ...], Target] = {}
        self._failed: dict[str, tuple[float, str]] = {}  # package digest -> (when, error)
        self._retry_at: dict[str, float] = {}
        self._reported: dict[tuple[str, str], str | None] = {}  # (deployment, route) -> version ready
        self._poller: asyncio.Task[None] | None = None
        self._retired: set[asyncio.Task[None]] = set()

    # -- life -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Load every deployment once, then keep polling in the background."""
        await self.refresh()
        self._poller = asyncio.get_running_loop().create_task(self._poll(), name="shipyard-serve-poller")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for task in list(self._retired):
            task.cancel()
        for target in list(self._targets.values()):
            await target.runner.close()

    def get(self, name: str) -> LiveDeployment | None:
        return self.snapshots.get(name)

    @property
    def ready(self) -> bool:
        """Whether every deployment asked for by name is served."""
        wanted = self.names if self.names is not None else list(self.snapshots)
        return all(name in self.snapshots for name in wanted)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            try:
                await self.refresh()
            except Exception:
                log.exception("polling the serving control plane failed; serving what was loaded")

    # -- refreshing -----------------------------------------------------------------------
    async def refresh(self) -> None:
        """Bring every deployment in step with the control plane."""
        loop = asyncio.get_running_loop()
        names = self.names
        if names is None:
            listed = await loop.run_in_executor(self.loader, self.serving.list)
            names = [d.name for d in listed]
            for gone in set(self.snapshots) - set(names):
                self._retire(self.snapshots.pop(gone))
        for name in names:
            try:
                deployment = await loop.run_in_executor(self.loader, self.serving.get, name)
            except NotFoundError as exc:
                self._forget(name, exc.message)
                continue
            except Exception as exc:
                self._trouble(name, f"cannot read the deployment: {exc}")
                continue
            self.missing.discard(name)
            try:  # NotFoundError here: an alias without a holder, a deleted version
                resolved = await loop.run_in_executor(self.loader, self.serving.resolve, name)
            except Exception as exc:
                self._trouble(name, f"cannot resolve its routes: {exc}")
                continue
            self.errors.pop(name, None)
            await self._apply(deployment, resolved)

    def _forget(self, name: str, why: str) -> None:
        """``name`` is no longer deployed: stop serving it."""
        self.errors[name] = why
        self.missing.add(name)
        old = self.snapshots.pop(name, None)
        if old is not None:
            log.info("deployment %s is gone: %s", name, why)
            self._retire(old)

    def _trouble(self, name: str, why: str) -> None:
        """The control plane cannot say what ``name`` should serve now: keep serving what is loaded."""
        if self.errors.get(name) != why:
            log.warning("deployment %s: %s (still serving what was loaded)", name, why)
        self.errors[name] = why

    async def _apply(self, deployment: Deployment, resolved: list[ResolvedRoute]) -> None:
        spec = deployment.spec
        batching = _batching_key(spec.batching)
        wanted = (
            spec.version,
            spec.features,
            spec.routing_key,
            batching,
            tuple((r.route.name, r.route.mode, r.route.weight, r.package_digest, r.ref) for r in resolved),
        )
        current = self.snapshots.get(spec.name)
        retry = self._retry_at.get(spec.name)
        if current is not None and current.wanted == wanted and (retry is None or retry > time.monotonic()):
            return
        self._retry_at.pop(spec.name, None)
        routes: list[LiveRoute] = []
        shadows: list[LiveRoute] = []
        for item in resolved:
            live = await self._route(spec.name, item, spec.batching, current)
            if live is not None:
                (shadows if live.mode == "shadow" else routes).append(live)
        if not routes:
            self.errors[spec.name] = "no live route has a model that loaded; see `shipyard deployments show`"
            return
        snapshot = LiveDeployment(
            spec.name,
            spec.version,
            tuple(routes),
            RouteTable.build([(r.name, r.weight) for r in routes]),
            tuple(shadows),
            spec.routing_key,
            spec.features,
            wanted,
        )
        self.snapshots[spec.name] = snapshot
        self.errors.pop(spec.name, None)
        if current is not None:
            self._retire(current)
        log.info("deployment %s: serving spec version %d", spec.name, spec.version)

    async def _route(
        self, deployment: str, item: ResolvedRoute, batching: Batching | None, current: LiveDeployment | None
    ) -> LiveRoute | None:
        route = item.route
        try:
            target = await self._target(deployment, item, batching)
        except Exception as exc:
            self._retry_at[deployment] = time.monotonic() + RETRY_S
            if not isinstance(exc, _KnownFailure):
                error = f"cannot load {item.ref} ({item.model_uri}): {exc}"
                log.error("deployment %s, route %s: %s", deployment, route.name, error)
                self.metrics.model_load(deployment, route.name, "failed")
                await self._report(deployment, route.name, item.ref, "failed", error)
            previous = _route_named(current, route.name)
            if previous is None:
                return None
            return LiveRoute(route.name, route.mode, route.weight, previous.target)
        if self._reported.get((deployment, route.name)) != item.ref:
            await self._report(deployment, route.name, item.ref, "ready", None)
        return LiveRoute(route.name, route.mode, route.weight, target)

    async def _target(self, deployment: str, item: ResolvedRoute, batching: Batching | None) -> Target:
        key = (item.package_digest, item.ref, _batching_key(batching))
        target = self._targets.get(key)
        if target is not None:
            return target
        failed = self._failed.get(item.package_digest)
        if failed is not None and time.monotonic() - failed[0] < RETRY_S:
            raise _KnownFailure(failed[1])
        model = self._models.get(item.package_digest)
        if model is None:
            await self._report(deployment, item.route.name, item.ref, "loading", None)
            loop = asyncio.get_running_loop()
            try:
                model = await loop.run_in_executor(self.loader, self.load_model, item.model_uri)
            except Exception as exc:
                self._failed[item.package_digest] = (time.monotonic(), str(exc))
                raise
            probe = await loop.run_in_executor(self.loader, probe_seconds, model)
            self._inline[item.package_digest] = probe is not None and probe < self.inline_below_s
            self._models[item.package_digest] = model
            self.metrics.model_load(deployment, item.route.name, "loaded")
        inline = self._inline.get(item.package_digest, False)
        target = Target(
            model,
            item.model_name,
            item.model_version,
            item.package_digest,
            InputPlan(model.signature),
            self._runner(model, batching, deployment, item.route.name, inline),
            inline,
        )
        self._targets[key] = target
        return target

    def _runner(
        self, model: LoadedModel, batching: Batching | None, deployment: str, route: str, inline: bool
    ) -> Runner:
        executor = None if inline else self.executor
        if batching is None:
            return DirectRunner(model, executor)
        observe = self.metrics.batch_observer(deployment, route)
        return BatchRunner(model, executor, batching.max_batch_size, batching.max_wait_ms, observe)

    async def _report(self, deployment: str, route: str, version: str, state: str, error: str | None) -> None:
        from shipyard.serving.models import RouteStatus

        status = RouteStatus(route, version, state, error, now_ms())
        self._reported[(deployment, route)] = version if state == "ready" else None
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.loader, self.serving.report_status, deployment, status)
        except Exception as exc:  # the status is advice; serving goes on
            log.warning("could not report the status of %s/%s: %s", deployment, route, exc)

    # -- retiring ------------------------------------------------------------------------
    def _retire(self, old: LiveDeployment) -> None:
        """Close the targets no snapshot uses any more, after a grace period."""
        task = asyncio.get_running_loop().create_task(self._close_unused(), name="shipyard-serve-retire")
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def _close_unused(self) -> None:
        await asyncio.sleep(GRACE_S)
        used = {id(r.target) for s in self.snapshots.values() for r in (*s.routes, *s.shadows)}
        for key, target in list(self._targets.items()):
            if id(target) not in used:
                del self._targets[key]
                await target.runner.close()
        digests = {t.package_digest for t in self._targets.values()}
        for digest in list(self._models):
            if digest not in digests:
                del self._models[digest]
                self._inline.pop(digest, None)


class _KnownFailure(Exception):
    """A package that failed to load less than ``RETRY_S`` ago: not tried, not reported again."""


def _batching_key(batching: Batching | None) -> tuple[int, float] | None:
    return None if batching is None else (batching.max_batch_size, batching.max_wait_ms)


def _route_named(snapshot: LiveDeployment | None, name: str) -> LiveRoute | None:
    if snapshot is None:
        return None
    return next((r for r in (*snapshot.routes, *snapshot.shadows) if r.name == name), None)
