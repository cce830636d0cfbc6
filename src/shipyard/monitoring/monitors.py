"""Monitors: specs, evaluations of windows of traffic, alerts and the actions they start.

:meth:`MonitorService.run` evaluates one window of a monitor:

1. the window's predictions are read from the serving log (the last ``window`` of time
   before ``now``, or the last N predictions); shadow copies are left out. A window with
   no predictions gives a ``no_data`` result (no alert, no action);
2. each check is evaluated (:mod:`shipyard.monitoring.evaluation`) against the
   reference's profile, built once per monitor version. Reference columns the
   deployment's inputs lack (a target column, a renamed feature) are left out and noted;
3. alerts fire, de-duplicate or resolve (:mod:`shipyard.monitoring.alerting`), and the
   result is stored with the alerts it wrote, in one transaction. If another evaluation
   of the monitor stored its alerts meanwhile, the store refuses a second firing alert of
   a check and the alerts are worked out again, so a fire is stored (and acted on) once;
4. each stored fire is an audit event ``alert.fired`` on ``monitor:<name>``
   (``sy.on_alert`` triggers);
5. the actions run (notify, retrain, rollback on fired alerts; canary analysis every
   window), none raising; their outcomes are added to the stored result.

The scheduler calls :meth:`MonitorService.run_due` on each pass: every monitor whose
last result is at least one window old (count windows: one hour) is run.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import logging
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.actors import current_actor
from shipyard.core.clock import now_ms
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError, ShipyardError
from shipyard.core.ids import new_id
from shipyard.monitoring.actions import ActionContext, run_alert_actions
from shipyard.monitoring.alerting import AlertChanges, update_alerts
from shipyard.monitoring.evaluation import WindowData, evaluate
from shipyard.monitoring.monitor_models import (
    ALERT_STATES,
    ActionSpec,
    Alert,
    CheckSpec,
    Monitor,
    MonitorResult,
    check_name,
    parse_window,
    worst,
)
from shipyard.monitoring.store.base import MonitorStore

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.datasets.service import DatasetService
    from shipyard.governance.service import AuditService
    from shipyard.models.service import ModelService
    from shipyard.monitoring.profiles import ReferenceProfile
    from shipyard.monitoring.service import MonitoringService
    from shipyard.pipelines.scheduler import SchedulerService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.service import ServingService
    from shipyard.storage.cas import ContentStore

__all__ = ["MonitorService"]

log = logging.getLogger("shipyard.monitoring.monitors")
COUNT_WINDOW_EVERY_MS = 3_600_000
STORE_ATTEMPTS = 5
_PROMETHEUS_DURATION = re.compile(r"(\d+(ms|s|m|h|d|w|y))+")
CONTENT_PREFIX = "content:"


class MonitorService:
    """Monitors of deployments. Collaborators are zero-argument callables, built on first use."""

    def __init__(
        self,
        store: Callable[[], MonitorStore],
        *,
        monitoring: Callable[[], MonitoringService],
        serving: Callable[[], ServingService],
        registry: Callable[[], RegistryService],
        content: Callable[[], ContentStore],
        datasets: Callable[[], DatasetService] | None = None,
        models: Callable[[], ModelService] | None = None,
        scheduler: Callable[[], SchedulerService] | None = None,
        audit: Callable[[], AuditService] | None = None,
        clock: Callable[[], int] = now_ms,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._store_fn = store
        self._store: MonitorStore | None = None
        self._monitoring, self._serving, self._registry = monitoring, serving, registry
        self._content, self._datasets, self._models = content, datasets, models
        self._scheduler, self._audit = scheduler, audit
        self.clock = clock
        self._sleep = sleep
        self._profiles: dict[tuple[str, int], ReferenceProfile] = {}
        self._lock = threading.Lock()

    @property
    def store(self) -> MonitorStore:
        if self._store is None:
            self._store = self._store_fn()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    # -- specs -----------------------------------------------------------------------------
    def create(
        self,
        name: str,
        deployment: str,
        reference: Any = None,
        window: str | int = "1h",
        checks: Sequence[CheckSpec] = (),
        actions: Sequence[ActionSpec] = (),
        cooldown: str | int = "1h",
    ) -> Monitor:
        """Create (or, when the spec changed, version) a monitor; an unchanged spec writes nothing."""
        check_name(name)
        self._serving().get(deployment)  # NotFoundError for an unknown deployment
        checks, actions = _checked(checks, CheckSpec, "checks"), _checked(actions, ActionSpec, "actions")
        names = [c.name for c in checks]
        if len(set(names)) != len(names):
            raise InvalidInputError(f"two checks share a name: {names}; give one a name=")
        needs_reference = {"feature_drift", "data_quality", "prediction_drift"} & {c.kind for c in checks}
        if reference is None and needs_reference:
            raise InvalidInputError(f"checks {', '.join(sorted(needs_reference))} need a reference")
        cooldown_ms = parse_window(cooldown).ms if not isinstance(cooldown, int) else cooldown
        draft = Monitor(
            name=name,
            deployment=deployment,
            reference=self._reference_ref(reference),
            window=parse_window(window),
            checks=tuple(checks),
            actions=tuple(actions),
            cooldown_ms=int(cooldown_ms or 0),
            created_at=self.clock(),
            created_by=current_actor(),
        )
        try:
            before = self.store.get_monitor(name).version
        except NotFoundError:
            before = 0
        done = self.store.create_monitor(draft)  # the latest unchanged when the spec is
        if done.version > before:
            self._record("monitor.create", f"monitor:{name}", done.to_dict())
        return done

    def get(self, name: str, version: int | None = None) -> Monitor:
        return self.store.get_monitor(name, version)

    def list(self) -> builtins.list[Monitor]:
        return self.store.list_monitors()

    def results(self, name: str, limit: int = 100) -> builtins.list[MonitorResult]:
        """Results of monitor ``name``, newest first."""
        self.store.get_monitor(name)
        return self.store.list_results(name, limit)

    def alerts(
        self, monitor: str | None = None, state: str | None = None, limit: int = 100
    ) -> builtins.list[Alert]:
        """Alerts (of one monitor, in one state), newest first."""
        if state is not None and state not in ALERT_STATES:
            raise InvalidInputError(f"unknown alert state {state!r}; use {', '.join(ALERT_STATES)}")
        return self.store.list_alerts(monitor, state, None, limit)

    # -- exports ---------------------------------------------------------------------------
    def metrics_text(self) -> bytes:
        """The Prometheus exposition of every monitor's latest result and the firing alerts."""
        from shipyard.monitoring.prometheus import render_metrics

        latest = [
            (m, next(iter(self.store.list_results(m.name, 1)), None)) for m in self.store.list_monitors()
        ]
        return render_metrics(latest, self.store.list_alerts(None, "firing", None, 10_000))

    def alert_rules(self, for_: str = "5m") -> dict[str, Any]:
        """A Prometheus alert-rules document for every monitor (see :mod:`shipyard.monitoring.prometheus`)."""
        from shipyard.monitoring.prometheus import alert_rules

        if not isinstance(for_, str) or not _PROMETHEUS_DURATION.fullmatch(for_):
            raise InvalidInputError(f"for must be a Prometheus duration like '5m' or '1h30m', got {for_!r}")
        return alert_rules(self.store.list_monitors(), for_)

    def report_html(self, name: str, limit: int = 100) -> str:
        """The HTML report of monitor ``name`` (:mod:`shipyard.monitoring.report`)."""
        from shipyard.monitoring.report import render_report

        monitor = self.store.get_monitor(name)
        results = self.store.list_results(name, limit)
        current = None
        if results and results[0].n_predictions:
            latest = results[0]
            monitor_then = self.store.get_monitor(name, latest.monitor_version)
            _, predictions = self._window(monitor_then, latest.window_end)
            current, _ = self._window_data(monitor_then, predictions)
        profile = self.reference_profile(monitor)
        alerts = self.store.list_alerts(name, None, None, 50)
        return render_report(monitor, results, alerts, profile, None if current is None else current.features)

    # -- the scheduler's hook --------------------------------------------------------------
    def due_monitors(self, now: int | None = None) -> builtins.list[Monitor]:
        """Monitors whose last result is at least one window old (count windows: an hour)."""
        at = self.clock() if now is None else now
        due: builtins.list[Monitor] = []
        for monitor in self.store.list_monitors():
            last = self.store.list_results(monitor.name, 1)
            every = monitor.window.ms or COUNT_WINDOW_EVERY_MS
            if not last or at - last[0].created_at >= every:
                due.append(monitor)
        return due

    def run_due(self, now: int | None = None) -> builtins.list[MonitorResult]:
        """Run every due monitor; one that fails is logged and the others still run."""
        results: builtins.list[MonitorResult] = []
        for monitor in self.due_monitors(now):
            try:
                results.append(self.run(monitor.name, now))
            except ShipyardError as exc:
                log.warning("monitor %s failed: %s", monitor.name, exc)
        return results

    # -- one evaluation --------------------------------------------------------------------
    def run(self, name: str, now: int | None = None) -> MonitorResult:
        """Evaluate the current window of monitor ``name`` (module docstring) and store the result."""
        monitor = self.store.get_monitor(name)
        at = self.clock() if now is None else int(now)
        start, predictions = self._window(monitor, at)
        result_id = new_id()
        base = MonitorResult(result_id, name, monitor.version, at, start, at, len(predictions), "no_data")
        if predictions.empty:
            window = monitor.window.to_text()
            note = f"no predictions of {monitor.deployment} in the window ({window} before {at})"
            result = dataclasses.replace(base, notes=(note,))
            self.store.add_result(result, [])
            return result
        data, notes = self._window_data(monitor, predictions)
        outcomes = tuple(evaluate(spec, data) for spec in monitor.checks)
        status = worst([o.status for o in outcomes if o.status != "skipped"])
        base = dataclasses.replace(base, status=status, checks=outcomes, notes=tuple(notes))
        result, changes = self._store_alerts(monitor, base)
        for alert in changes.fired:
            self._record("alert.fired", f"monitor:{name}", alert.to_dict())
        actions = run_alert_actions(monitor, changes.fired, changes.resolved, self._action_context())
        canary = self._canary(monitor, predictions)
        if canary is not None:
            actions.append(
                {"action": "canary", "status": canary.get("status"), "detail": canary.get("detail")}
            )
        if actions or canary is not None:
            result = dataclasses.replace(result, actions=tuple(actions), canary=canary)
            self.store.update_result(result)
        return result

    def _store_alerts(self, monitor: Monitor, result: MonitorResult) -> tuple[MonitorResult, AlertChanges]:
        """Store ``result`` with the alerts its checks fire, update or resolve.

        Another evaluation of the monitor may have stored its alerts since this one read
        them: the store then refuses the result (an alert read changed, or a check would
        have two firing alerts), and the alerts are worked out again against what is stored
        now, so each fire, count and resolution happens once.
        """
        for attempt in range(1, STORE_ATTEMPTS + 1):
            changes, read = self._alert_changes(monitor, result)
            done = dataclasses.replace(result, alerts=tuple(a.id for a in changes.fired))
            try:
                self.store.add_result(done, changes.written, read)
                return done, changes
            except ConflictError:
                if attempt == STORE_ATTEMPTS:
                    raise
                log.info("monitor %s: alerts changed meanwhile, evaluating them again", monitor.name)
        raise AssertionError("unreachable")

    def _alert_changes(
        self, monitor: Monitor, result: MonitorResult
    ) -> tuple[AlertChanges, builtins.list[Alert]]:
        """What ``result``'s check outcomes do to the stored alerts, and the alerts read to decide."""
        read: builtins.list[Alert] = []

        def latest(check: str) -> Alert | None:
            found = self._latest_alert(monitor.name, check)
            if found is not None:
                read.append(found)
            return found

        changes = update_alerts(
            monitor.name, result.id, result.checks, latest, result.created_at, monitor.cooldown_ms
        )
        return changes, read

    def _window(self, monitor: Monitor, at: int) -> tuple[int | None, pd.DataFrame]:
        start = None if monitor.window.ms is None else at - monitor.window.ms
        frame = self._serving().predictions(monitor.deployment, start, at, with_labels=True)
        if "shadow" in frame:
            frame = frame[~frame["shadow"].astype(bool)]
        if monitor.window.count is not None:
            frame = frame.tail(monitor.window.count)
        return start, frame.reset_index(drop=True)

    def _window_data(
        self, monitor: Monitor, predictions: pd.DataFrame
    ) -> tuple[WindowData, builtins.list[str]]:
        from shipyard.serving.prediction_log import INPUT_PREFIX

        answers = predictions  # failed requests too: only error_rate counts them
        if "error" in predictions.columns and predictions["error"].notna().any():
            predictions = predictions[predictions["error"].isna()].reset_index(drop=True)
        inputs = [c for c in predictions.columns if c.startswith(INPUT_PREFIX)]
        features = predictions[inputs].rename(columns=lambda c: c[len(INPUT_PREFIX) :])
        notes: builtins.list[str] = []
        profile = self.reference_profile(monitor)
        if profile is not None:
            lacking = [c for c in profile.names if c not in features.columns]
            if lacking:
                notes.append(
                    f"reference columns not among the deployment's inputs (left out): {', '.join(lacking)}"
                )
        else:
            from shipyard.monitoring.profiles import ReferenceProfile

            profile = ReferenceProfile({}, 0)
        data = WindowData(
            predictions,
            features,
            profile,
            self._monitoring(),
            lambda: self._reference_outputs(monitor),
            answers,
        )
        return data, notes

    def _latest_alert(self, monitor: str, check: str) -> Alert | None:
        found = self.store.list_alerts(monitor, None, check, 1)
        return found[0] if found else None

    def _action_context(self) -> ActionContext:
        def scheduler() -> SchedulerService:
            if self._scheduler is None:
                raise InvalidInputError("retrain needs the scheduler of an embedded workspace")
            return self._scheduler()

        if self._sleep is not None:
            return ActionContext(self._registry, scheduler, self._sleep)
        return ActionContext(self._registry, scheduler)

    def _canary(self, monitor: Monitor, predictions: pd.DataFrame) -> dict[str, Any] | None:
        from shipyard.monitoring.canary import analyse

        spec = next((a for a in monitor.actions if a.kind == "canary"), None)
        if spec is None:
            return None
        previous = next((r.canary for r in self.store.list_results(monitor.name, 20) if r.canary), None)
        try:
            return analyse(
                spec,
                monitor.deployment,
                predictions,
                previous,
                self._serving(),
                self._registry(),
                self._monitoring(),
            )
        except ShipyardError as exc:
            log.warning("monitor %s: canary analysis failed: %s", monitor.name, exc)
            return {"status": "failed", "detail": str(exc), "streak": 0}

    # -- the reference ---------------------------------------------------------------------
    def _reference_ref(self, reference: Any) -> str | None:
        if reference is None:
            return None
        if isinstance(reference, str):
            if reference.startswith(CONTENT_PREFIX):
                digest = reference[len(CONTENT_PREFIX) :]
                if not self._content().exists(digest):
                    raise InvalidInputError(
                        f"reference {reference!r}: no such content in the artifact store; "
                        "give a dataset reference or a DataFrame"
                    )
                return reference
            if self._datasets is None:
                raise InvalidInputError(
                    f"{reference!r} looks like a dataset reference, but there is no workspace"
                )
            return self._datasets().get(reference).ref
        return store_reference_frame(reference, self._content())

    def reference_frame(self, monitor: Monitor) -> pd.DataFrame | None:
        """The reference data of ``monitor`` as a DataFrame (None without a reference)."""
        import io

        import pyarrow.parquet as pq

        ref = monitor.reference
        if ref is None:
            return None
        if ref.startswith(CONTENT_PREFIX):
            data = self._content().get_bytes(ref[len(CONTENT_PREFIX) :])
            frame: pd.DataFrame = pq.read_table(io.BytesIO(data)).to_pandas()
            return frame
        if self._datasets is None:
            raise InvalidInputError("a dataset reference needs the datasets service")
        loaded: pd.DataFrame = self._datasets().load(ref, format="pandas")
        return loaded

    def reference_profile(self, monitor: Monitor) -> ReferenceProfile | None:
        """The reference's profile (a dataset's is the stored one), built once per monitor version."""
        key = (monitor.name, monitor.version)
        with self._lock:
            cached = self._profiles.get(key)
        if cached is not None or monitor.reference is None:
            return cached
        if monitor.reference.startswith(CONTENT_PREFIX):
            profile = self._monitoring().profile(self.reference_frame(monitor))
        else:
            profile = self._monitoring().profile(monitor.reference)
        with self._lock:
            self._profiles[key] = profile
        return profile

    def _reference_outputs(self, monitor: Monitor) -> pd.DataFrame | None:
        """The primary route's model's outputs on the reference (for prediction drift)."""
        import pandas as pd

        if self._models is None:
            return None
        frame = self.reference_frame(monitor)
        routes = self._serving().resolve(monitor.deployment)
        primary = next((r for r in routes if r.route.mode == "primary"), None)
        if frame is None or primary is None:
            return None
        model = self._models().load(primary.model_uri)
        if model.signature is not None:
            missing = [c.name for c in model.signature.inputs if c.name not in frame.columns]
            if missing:
                return None
            frame = frame[[c.name for c in model.signature.inputs]]
        out = pd.DataFrame({"prediction": list(model.predict(frame))})
        if model.task == "classifier":
            with contextlib.suppress(ShipyardError):
                out["score"] = model.predict_proba(frame)[:, -1]
        return out

    def _record(self, action: str, target: str, payload: Any) -> None:
        if self._audit is not None:
            self._audit().record(current_actor(), action, target, payload)


def _checked(items: Sequence[Any], kind: type, what: str) -> builtins.list[Any]:
    if isinstance(items, str | bytes) or not all(isinstance(i, kind) for i in items):
        raise InvalidInputError(f"{what} must be a list of sy.{what}.* objects")
    return list(items)


def store_reference_frame(reference: Any, content: Any) -> str:
    """Keep a DataFrame reference as Parquet in ``content`` (a content store, local or a server's):
    its ``"content:<digest>"`` ref."""
    import pandas as pd
    import pyarrow.parquet as pq

    if not isinstance(reference, pd.DataFrame):
        raise InvalidInputError(
            "a reference is a dataset reference like 'transactions@3' or a DataFrame, "
            f"got {type(reference).__name__}"
        )
    with tempfile.TemporaryDirectory(prefix="shipyard-reference-") as tmp:
        path = Path(tmp) / "reference.parquet"
        pq.write_table(_arrow(reference), path)
        digest, _ = content.put_file(path)
    return CONTENT_PREFIX + str(digest)


def _arrow(frame: pd.DataFrame) -> Any:
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInputError(f"the reference DataFrame cannot be stored as Parquet: {exc}") from exc
