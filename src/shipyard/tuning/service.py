"""Use cases of tuning: run a search (``sy.tune``), resume it, inspect studies.

A search asks Optuna for trials (TPE, seeded), runs the objective on each (here or on
Ray, see :mod:`shipyard.tuning.execution`), and tells Optuna the results in trial
order. Each ``sy.tune`` call is a tracked run (tags ``shipyard.study``,
``shipyard.tuning``) and each trial a child run (tag ``shipyard.parent_run_id``) with
the trial's params, its metrics, the intermediate values it reported (the metric's
history), and its state (``shipyard.trial_state``: ``complete``, ``pruned`` or ``fail``).
When the search ends the best trial's params are logged on the parent run as
``best.<name>``, its value as the metric ``best.<metric>``.

Studies live in the metadata database (an Optuna journal, see
:mod:`shipyard.tuning.store.sql`), under their name: ``study="fraud-lr", resume=True``
continues one until it holds ``n_trials`` finished (complete or pruned) trials.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import AlreadyExistsError, InvalidInputError, NotFoundError, UserCodeError
from shipyard.core.ids import new_id
from shipyard.core.names import check_name
from shipyard.tuning.execution import TrialCall, TrialOutcome, make_trials_executor
from shipyard.tuning.models import StudySummary, TrialInfo, TuneResult
from shipyard.tuning.reading import result_frame, summary_of, trial_info
from shipyard.tuning.space import Distribution, check_space, space_json

if TYPE_CHECKING:
    from shipyard.governance.service import AuditService
    from shipyard.tracking.models import RunRecord
    from shipyard.tracking.service import TrackingService
    from shipyard.tuning.store.base import JournalStore

DIRECTIONS = ("maximize", "minimize")
PRUNERS = ("median", "hyperband", "successive_halving", "none")
MAX_TRIALS = 100_000


class TuningService:
    """Hyperparameter searches on Optuna, with trials as tracked runs and studies in Shipyard."""

    def __init__(
        self,
        journal: Callable[[], JournalStore],
        tracking: TrackingService,
        *,
        store_uri: str | None = None,
        audit: AuditService | None = None,
        capture_packages: bool = True,
    ) -> None:
        self._journal = journal
        self.tracking = tracking
        self.store_uri = store_uri  # what Ray workers open to report (None: they cannot)
        self.audit = audit
        self.capture_packages = capture_packages
        self._storage: Any = None

    def storage(self) -> Any:
        """The Optuna storage over the journal (built on first use)."""
        if self._storage is None:
            from optuna.storages import JournalStorage

            self._storage = JournalStorage(self._journal())
        return self._storage

    # -- searching -------------------------------------------------------------------
    def tune(
        self,
        objective: Callable[..., Any],
        space: Mapping[str, Distribution],
        *,
        n_trials: int = 50,
        direction: str = "maximize",
        metric: str = "value",
        executor: str = "local",
        pruner: Any = "median",
        seed: int | None = None,
        study: str | None = None,
        resume: bool = False,
        experiment: str | None = None,
        parallel: int | None = None,
    ) -> TuneResult:
        """Search ``space`` for the params that make ``objective`` best on ``metric`` (``docs/tuning.md``)."""
        checked = _check(objective, space, n_trials, direction, metric)
        name = check_name(study, "study name") if study is not None else _default_name(objective)
        with _quiet_optuna():
            chosen = _pruner(pruner)
            runner = make_trials_executor(executor, parallel)
            found = self._open(name, resume, checked, direction, metric, seed, chosen)
            parent = self._parent_run(found, name, experiment, n_trials, seed, executor, pruner)
            left = n_trials - _finished(found)
            try:
                self._search(found, runner, objective, checked, metric, left, parent, chosen)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    self.tracking.end_run(parent.id, "killed", "interrupted")
                else:
                    self.tracking.end_run(parent.id, "failed", f"{type(exc).__name__}: {exc}"[-8000:])
                raise
            finally:
                runner.close()
            return self._conclude(found, name, metric, direction, parent)

    def _open(
        self,
        name: str,
        resume: bool,
        space: dict[str, Distribution],
        direction: str,
        metric: str,
        seed: int | None,
        pruner: Any,
    ) -> Any:
        """The Optuna study ``name``: created, or (``resume``) loaded and checked against the call."""
        import optuna

        storage = self.storage()
        exists = any(s.study_name == name for s in storage.get_all_studies())
        if exists and not resume:
            raise AlreadyExistsError(
                f"study {name!r} exists: pass resume=True to continue it, or another name"
            )
        if not exists:
            study = optuna.create_study(
                study_name=name,
                storage=storage,
                direction=optuna.study.StudyDirection[direction.upper()],
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=pruner,
            )
            for key, value in (
                ("metric", metric),
                ("space", space_json(space)),
                ("created_at", now_ms()),
                ("seed", seed),
                ("runs", []),
            ):
                study.set_user_attr(f"shipyard.{key}", value)
            return study
        previous = optuna.load_study(study_name=name, storage=storage)
        _check_same(name, previous, space, direction, metric)
        # Seeded by how far the study got, so a resumed search does not draw its first points again.
        count = len(previous.get_trials(deepcopy=False))
        sampler = optuna.samplers.TPESampler(seed=None if seed is None else seed + count)
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            storage.set_trial_state_values(
                trial._trial_id, optuna.trial.TrialState.FAIL
            )  # a session that died
        return study

    def _parent_run(
        self,
        study: Any,
        name: str,
        experiment: str | None,
        n_trials: int,
        seed: int | None,
        executor: str,
        pruner: Any,
    ) -> RunRecord:
        from shipyard.tracking.lineage import capture_lineage

        tags = {"shipyard.study": name, "shipyard.tuning": "study"}
        parent = self.tracking.create_run(
            experiment or name, f"tune-{name}", tags, capture_lineage(self.capture_packages)
        )
        space = {k: Distribution.from_json(v) for k, v in study.user_attrs["shipyard.space"].items()}
        params = {f"space.{key}": value.describe() for key, value in space.items()}
        params.update(
            {
                "tune.metric": study.user_attrs["shipyard.metric"],
                "tune.direction": study.direction.name.lower(),
                "tune.n_trials": str(n_trials),
                "tune.seed": str(seed),
                "tune.executor": executor,
                "tune.pruner": pruner if isinstance(pruner, str) else str(pruner and type(pruner).__name__),
            }
        )
        self.tracking.log_params(parent.id, params)
        study.set_user_attr("shipyard.runs", [*study.user_attrs.get("shipyard.runs", []), parent.id])
        if self.audit is not None:
            from shipyard.core.actors import current_actor

            self.audit.record(
                current_actor(), "tune.run", f"study:{name}", {"run": parent.id, "n_trials": n_trials}
            )
        return parent

    def _search(
        self,
        study: Any,
        runner: Any,
        objective: Callable[..., Any],
        space: dict[str, Distribution],
        metric: str,
        left: int,
        parent: RunRecord,
        pruner: Any,
    ) -> None:
        """Ask for batches of trials, run them, tell the results in trial order."""
        import optuna

        remote_prune = runner.remote and not isinstance(pruner, optuna.pruners.NopPruner)
        if remote_prune and self.store_uri is None:
            raise InvalidInputError(
                "pruning on Ray needs the study in a database the workers reach, not memory://"
            )
        distributions = {name: d.to_optuna() for name, d in space.items()}
        while left > 0:
            batch = [study.ask(distributions) for _ in range(min(runner.width, left))]
            calls: list[TrialCall] = []
            ended: list[TrialOutcome] = []
            try:
                for trial in batch:
                    calls.append(self._call(study, trial, objective, parent, remote_prune, pruner))
                outcomes = runner.run(calls, [None] * len(batch) if runner.remote else batch)
                for trial, call, outcome in zip(batch, calls, outcomes, strict=True):
                    ended.append(
                        self._record(study, trial, call, outcome, metric, runner.remote and not remote_prune)
                    )
            finally:
                self._abandon(study, batch, calls, len(ended))
            _raise_failure(calls, ended)
            left -= len(batch)

    def _abandon(self, study: Any, batch: list[Any], calls: list[TrialCall], done: int) -> None:
        """Fail the trials of a batch that were not told (the driver stopped: an interrupt, an error)."""
        import optuna

        for i in range(done, len(batch)):
            study.tell(batch[i], state=optuna.trial.TrialState.FAIL)
            if i < len(calls):
                self.tracking.end_run(calls[i].run_id, "killed", "the search stopped before this trial ended")

    def _call(
        self,
        study: Any,
        trial: Any,
        objective: Callable[..., Any],
        parent: RunRecord,
        remote: bool,
        pruner: Any,
    ) -> TrialCall:
        tags = {
            "shipyard.parent_run_id": parent.id,
            "shipyard.study": study.study_name,
            "shipyard.trial": str(trial.number),
        }
        child = self.tracking.create_run(
            experiment_id=parent.experiment_id, run_name=f"trial-{trial.number}", tags=tags
        )
        self.tracking.log_params(child.id, {k: str(v) for k, v in trial.params.items()})
        trial.set_user_attr("shipyard.run_id", child.id)
        return TrialCall(
            objective,
            trial.number,
            child.id,
            dict(trial.params),
            study=study.study_name,
            trial_id=trial._trial_id if remote else None,
            store_uri=self.store_uri if remote else None,
            pruner=pruner if remote else None,
        )

    def _record(
        self, study: Any, trial: Any, call: TrialCall, outcome: TrialOutcome, metric: str, report: bool
    ) -> TrialOutcome:
        """Tell the study how the trial ended, end its tracked run with its metrics; the outcome as told."""
        import optuna

        if report:  # the worker could not write its reports to the study: write them now
            for step, value in outcome.reported:
                trial.report(value, step)
        rows = [(metric, value, step, outcome.ended_at) for step, value in outcome.reported]
        state, error = outcome.state, outcome.error
        if state == "complete":
            try:
                value, metrics = _metrics(outcome.returned, metric)
            except InvalidInputError as exc:
                state, error = "fail", f"the objective's return value: {exc.message}"
            else:
                study.tell(trial, value)
                last = max((step for step, _ in outcome.reported), default=-1)
                rows += [(key, number, last + 1, outcome.ended_at) for key, number in metrics.items()]
        if state == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif state == "fail":
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        for start in range(0, len(rows), 1000):
            self.tracking.log_metrics(call.run_id, rows[start : start + 1000])
        self.tracking.set_tags(call.run_id, {"shipyard.trial_state": state})
        status = {"complete": "finished", "pruned": "killed", "fail": "failed"}[state]
        self.tracking.end_run(call.run_id, status, error, end_time=outcome.ended_at or None)
        return dataclasses.replace(outcome, state=state, error=error)

    def _conclude(self, study: Any, name: str, metric: str, direction: str, parent: RunRecord) -> TuneResult:
        """Log the best trial on the parent run, end it, and return the result."""
        trials = [trial_info(t) for t in study.get_trials(deepcopy=False)]
        complete = [t for t in trials if t.state == "complete" and t.value is not None]
        best = (
            (max if direction == "maximize" else min)(complete, key=lambda t: t.value or 0.0)
            if complete
            else None
        )
        if best is not None:
            self.tracking.log_params(parent.id, {f"best.{k}": str(v) for k, v in best.params.items()})
            self.tracking.log_metrics(parent.id, [(f"best.{metric}", float(best.value or 0.0), 0, now_ms())])
            self.tracking.set_tags(
                parent.id,
                {"shipyard.best_run_id": best.run_id or "", "shipyard.best_trial": str(best.number)},
            )
        self.tracking.end_run(parent.id, "finished")
        return TuneResult(
            study=name,
            metric=metric,
            direction=direction,
            best_params=dict(best.params) if best else {},
            best_value=best.value if best else None,
            best_run_id=best.run_id if best else None,
            best_trial=best.number if best else None,
            run_id=parent.id,
            trials=result_frame(trials),
        )

    # -- reading ---------------------------------------------------------------------
    def list_studies(self) -> list[StudySummary]:
        """Every study, by name."""
        with _quiet_optuna():
            storage = self.storage()
            studies = sorted(storage.get_all_studies(), key=lambda s: s.study_name)
            return [summary_of(s, storage.get_all_trials(s._study_id, deepcopy=False)) for s in studies]

    def get_study(self, name: str) -> tuple[StudySummary, list[TrialInfo]]:
        """A study's summary and its trials in order; ``NotFoundError`` if there is none."""
        with _quiet_optuna():
            storage = self.storage()
            for study in storage.get_all_studies():
                if study.study_name == name:
                    trials = storage.get_all_trials(study._study_id, deepcopy=False)
                    return summary_of(study, trials), [trial_info(t) for t in trials]
        raise NotFoundError(f"study {name!r} not found; `shipyard tune list` shows the studies")


def _check(
    objective: object, space: Mapping[str, Distribution], n_trials: int, direction: str, metric: str
) -> dict[str, Distribution]:
    if not callable(objective):
        raise InvalidInputError(f"objective must be a function of the params, got {objective!r}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or not 1 <= n_trials <= MAX_TRIALS:
        raise InvalidInputError(f"n_trials must be an int from 1 to {MAX_TRIALS}, got {n_trials!r}")
    if direction not in DIRECTIONS:
        raise InvalidInputError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    from shipyard.core.names import check_key

    check_key(metric, "metric")
    return check_space(space)


def _check_same(name: str, study: Any, space: dict[str, Distribution], direction: str, metric: str) -> None:
    attrs = study.user_attrs
    stored = (attrs.get("shipyard.space"), study.direction.name.lower(), attrs.get("shipyard.metric"))
    if stored != (space_json(space), direction, metric):
        raise InvalidInputError(
            f"study {name!r} was created with another space, direction or metric "
            f"({stored[1]} {stored[2]}); resume it with the same ones, or start another study"
        )


def _pruner(pruner: Any) -> Any:
    import optuna

    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    raise InvalidInputError(f"unknown pruner {pruner!r}; pruners: {', '.join(PRUNERS)}, or an Optuna pruner")


def _finished(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _metrics(returned: Any, metric: str) -> tuple[float, dict[str, float]]:
    """The objective's value and every metric it returned (a number, or a dict holding ``metric``)."""
    import math

    values = dict(returned) if isinstance(returned, Mapping) else {metric: returned}
    if metric not in values:
        raise InvalidInputError(f"the objective returned {sorted(values)} but not the metric {metric!r}")
    clean: dict[str, float] = {}
    for key, value in values.items():
        try:
            clean[str(key)] = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"metric {key!r} is not a number: {value!r}") from None
    if not math.isfinite(clean[metric]):
        raise InvalidInputError(f"the value of {metric!r} is {clean[metric]}")
    return clean[metric], clean


def _raise_failure(calls: list[TrialCall], outcomes: list[TrialOutcome]) -> None:
    for call, outcome in zip(calls, outcomes, strict=True):
        if outcome.state == "fail":
            last = (outcome.error or "").strip().splitlines()[-1:] or ["failed"]
            raise UserCodeError(
                f"trial {call.number} failed: {last[0]} (the traceback is on its run {call.run_id})",
                details={"traceback": outcome.error, "run_id": call.run_id},
            )


def _default_name(objective: Callable[..., Any]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", getattr(objective, "__name__", "") or "").strip("-.") or "study"
    return f"{base[:64]}-{new_id()[-8:]}"


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna logs each trial at INFO to stderr; Shipyard records them as runs instead."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)
