"""Running trials: in this process one after another (``local``), or as Ray tasks in parallel (``ray``).

The study is asked for a *batch* of trials (one, locally; ``parallel`` on Ray), the
batch runs, and the results are told to the study in trial order before the next batch
is asked for. So with a seed the sequence of trials is the same on every run of the
same search, on Ray too (for the same ``parallel``), unless a pruner decides while
trials run side by side: what it sees then depends on timing.

On Ray a trial can only be pruned if its worker reaches the study's storage (the
metadata database: a SQLite file on the same machine, or PostgreSQL); its reports are
written there as they are made. Objectives travel by value: their modules, unless
installed in site-packages, are registered with Ray's cloudpickle.
"""

from __future__ import annotations

import inspect
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import InvalidInputError
from shipyard.tuning.trial import Trial, TrialPruned, reset_trial, set_trial

MAX_ERROR = 8000
_INSTALLED = tuple({sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")})


@dataclass(frozen=True)
class TrialCall:
    """One trial to run: the objective, the trial's number, run and params, and (to prune on a
    worker) where the study is: the study name, its trial id, the store URI and the pruner."""

    objective: Callable[..., Any]
    number: int
    run_id: str
    params: dict[str, Any]
    study: str = ""
    trial_id: int | None = None
    store_uri: str | None = None
    pruner: Any = None


@dataclass(frozen=True)
class TrialOutcome:
    """What came of a trial: ``complete`` with its metrics, ``pruned``, or ``fail`` with a traceback."""

    state: str
    metrics: dict[str, float] = field(default_factory=dict)
    returned: Any = None
    reported: list[tuple[int, float]] = field(default_factory=list)
    started_at: int = 0
    ended_at: int = 0
    error: str | None = None


def run_trial(call: TrialCall, optuna_trial: Any = None) -> TrialOutcome:
    """Call the objective with the trial's params (and the :class:`Trial`, if it takes two arguments)."""
    if optuna_trial is None and call.store_uri is not None:
        optuna_trial = _remote_trial(call)
    trial = Trial(call.number, call.run_id, dict(call.params), optuna_trial)
    token = set_trial(trial)
    started = now_ms()
    try:
        returned = call.objective(*_arguments(call.objective, trial))
    except TrialPruned:
        return TrialOutcome("pruned", reported=trial.reported, started_at=started, ended_at=now_ms())
    except Exception as exc:
        if type(exc).__name__ == "TrialPruned" and type(exc).__module__.startswith("optuna"):
            return TrialOutcome("pruned", reported=trial.reported, started_at=started, ended_at=now_ms())
        error = traceback.format_exc()[-MAX_ERROR:]
        return TrialOutcome(
            "fail", reported=trial.reported, started_at=started, ended_at=now_ms(), error=error
        )
    finally:
        reset_trial(token)
    return TrialOutcome(
        "complete", returned=returned, reported=trial.reported, started_at=started, ended_at=now_ms()
    )


def _arguments(objective: Callable[..., Any], trial: Trial) -> tuple[Any, ...]:
    try:
        positional = [
            p
            for p in inspect.signature(objective).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):  # a builtin or a C callable: one argument
        positional = []
    takes_trial = len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in positional)
    return (trial.params, trial) if takes_trial else (trial.params,)


_storages: dict[str, Any] = {}
_storages_lock = threading.Lock()


def _remote_trial(call: TrialCall) -> Any:
    """The Optuna trial of ``call`` on a worker, over the study's storage (opened once per process)."""
    import optuna
    from optuna.storages import JournalStorage

    from shipyard.tuning.store import open_journal

    assert call.store_uri is not None and call.trial_id is not None
    with _storages_lock:
        storage = _storages.get(call.store_uri)
        if storage is None:
            storage = _storages[call.store_uri] = JournalStorage(open_journal(call.store_uri))
    study = optuna.load_study(study_name=call.study, storage=storage, pruner=call.pruner)
    return optuna.trial.Trial(study, call.trial_id)


# -- executors ----------------------------------------------------------------------------
class LocalTrials:
    """Trials in this process, one at a time (``sy.report`` writes to the study as it goes)."""

    name = "local"
    width = 1
    remote = False

    def run(self, calls: Sequence[TrialCall], optuna_trials: Sequence[Any]) -> list[TrialOutcome]:
        return [run_trial(call, trial) for call, trial in zip(calls, optuna_trials, strict=True)]

    def close(self) -> None:
        pass


class RayTrials:
    """Trials as Ray tasks, ``width`` at once; Ray is used as found, or started with ``ray.init()``."""

    name = "ray"
    remote = True

    def __init__(self, parallel: int | None = None, num_cpus: float = 1) -> None:
        try:
            import ray
        except ImportError as exc:
            raise InvalidInputError("executor='ray' needs Ray: pip install 'shipyard[ray]'") from exc
        if not ray.is_initialized():
            ray.init()
        cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
        self.width = parallel if parallel is not None else max(1, int(cpus // num_cpus))
        self._remote = ray.remote(run_trial).options(num_cpus=num_cpus, max_retries=0)
        self._by_value: set[str] = set()

    def run(self, calls: Sequence[TrialCall], optuna_trials: Sequence[Any]) -> list[TrialOutcome]:
        import ray

        for call in calls:
            self._send_by_value(getattr(call.objective, "__module__", "") or "")
        refs = [self._remote.remote(call) for call in calls]
        outcomes: list[TrialOutcome] = []
        for ref in refs:
            try:
                outcomes.append(ray.get(ref))
            except Exception as exc:  # the task died (out of memory, a lost node)
                ended = now_ms()
                outcomes.append(
                    TrialOutcome("fail", started_at=ended, ended_at=ended, error=f"{exc}"[-MAX_ERROR:])
                )
        return outcomes

    def _send_by_value(self, module_name: str) -> None:
        if module_name in self._by_value:
            return
        self._by_value.add(module_name)
        module = sys.modules.get(module_name)
        path = str(getattr(module, "__file__", "") or "")
        if module is None or module_name == "__main__" or not path or path.startswith(_INSTALLED):
            return
        from ray import cloudpickle

        cloudpickle.register_pickle_by_value(module)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        pass


def make_trials_executor(executor: str, parallel: int | None) -> LocalTrials | RayTrials:
    if parallel is not None and (isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1):
        raise InvalidInputError(f"parallel must be an int >= 1, got {parallel!r}")
    if executor == "local":
        if parallel not in (None, 1):
            raise InvalidInputError(
                "the local executor runs one trial at a time: use executor='ray' for parallel"
            )
        return LocalTrials()
    if executor == "ray":
        return RayTrials(parallel)
    raise InvalidInputError(f"unknown executor {executor!r}; executors are: local, ray")
