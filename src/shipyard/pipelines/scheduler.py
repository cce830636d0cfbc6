"""Use cases of the scheduler's records: which pipelines it starts and when, and runs asked for by code.

A *schedule* names a pipeline by import ref (``train:training``) with a cron expression
(UTC), triggers (``sy.on_dataset(...)`` ...), ``catchup`` and parameters. The running
part, the passes of ``shipyard scheduler``, is :class:`shipyard.pipelines.scheduling.Scheduler`.

:meth:`SchedulerService.request` (``sy.pipelines.start_pipeline``) does not run anything
itself: it records a *request*, which the next pass of any scheduler claims (like an
event) and runs. That is how monitoring's retrain action starts a pipeline: through the
scheduler, with its claims, its history and its process, never inside the caller.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from shipyard.core.clock import now_ms
from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.pipelines.cron import check_cron
from shipyard.pipelines.loading import load_pipeline
from shipyard.pipelines.models import Claim, PipelineRequest, Schedule, Trigger
from shipyard.pipelines.pipeline import Pipeline
from shipyard.pipelines.triggers import check_triggers

if TYPE_CHECKING:
    from shipyard.governance.service import AuditService
    from shipyard.pipelines.scheduling import Notice, Scheduler
    from shipyard.pipelines.service import PipelineService
    from shipyard.pipelines.store.base import ScheduleStore

_SAMPLES = {"dataset": "{name}@1", "model_registered": "{name}:1", "alert": "{name}"}
MAX_REASON = 2000


class SchedulerService:
    """Schedules, run requests and the claims that record what the scheduler started."""

    def __init__(
        self,
        store: ScheduleStore,
        pipelines: PipelineService,
        *,
        audit: AuditService | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.pipelines = pipelines
        self.audit = audit
        self.clock = clock

    # -- schedules -------------------------------------------------------------------
    def add(
        self,
        pipeline: Pipeline | str,
        *,
        schedule: str | None = None,
        triggers: Sequence[Trigger] | None = None,
        catchup: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> Schedule:
        """Have the scheduler start ``pipeline`` (a pipeline or its ``module:attribute`` ref).

        ``schedule`` and ``triggers`` default to the pipeline's own (``@sy.pipeline(schedule=...,
        triggers=...)``). Adding a ref again replaces its schedule; its trigger state is kept,
        except that a changed cron starts counting from now and changed triggers fire only on
        events recorded from now on.
        """
        ref, found = _resolve(pipeline)
        cron = check_cron(schedule) if schedule is not None else found.schedule
        chosen = check_triggers(triggers) if triggers is not None else found.triggers
        if cron is None and not chosen:
            raise InvalidInputError(
                f"nothing would start {ref}: give it a cron schedule or triggers "
                "(@sy.pipeline(schedule=..., triggers=...) or --cron/--trigger)"
            )
        given = _check_params(found, dict(params or {}), cron, chosen)
        now = self.clock()
        old = self.store.find_schedule(ref)
        head = self._audit_head()
        saved = self.store.save_schedule(
            Schedule(
                id=old.id if old else new_id(),
                ref=ref,
                pipeline=found.name,
                cron=cron,
                triggers=chosen,
                catchup=bool(catchup),
                params=given,
                created_at=old.created_at if old else now,
                created_by=old.created_by if old else _actor(),
                updated_at=now,
                cron_at=old.cron_at if old and old.cron == cron else now,
                audit_seq=old.audit_seq if old and old.triggers == chosen else head,
            )
        )
        self._record("schedule.add", f"schedule:{ref}", {"cron": cron, "triggers": _triggers_json(chosen)})
        return saved

    def remove(self, key: str) -> Schedule:
        """Stop scheduling a pipeline (by ref or schedule id); what was claimed stays as history."""
        found = self.get(key)
        self.store.delete_schedule(found.id)
        self._record("schedule.remove", f"schedule:{found.ref}", None)
        return found

    def get(self, key: str) -> Schedule:
        """A schedule by ref (``train:training``) or id."""
        found = self.store.find_schedule(key)
        if found is None:
            raise NotFoundError(f"no schedule for {key!r}; add one with `shipyard scheduler add {key}`")
        return found

    def list(self) -> builtins.list[Schedule]:
        """Every schedule, by ref."""
        return self.store.list_schedules()

    # -- requests and history --------------------------------------------------------
    def request(
        self,
        pipeline: Pipeline | str,
        params: Mapping[str, Any] | None = None,
        reason: str = "",
        *,
        check: bool = True,
    ) -> PipelineRequest:
        """Ask the scheduler to run ``pipeline`` once with ``params`` (over the schedule's own, if the
        ref has one): the next pass of a running ``shipyard scheduler`` claims and runs it.

        The pipeline is imported here to check the parameters now, unless ``check=False``: a
        process that cannot import the project's code (a server firing a retrain action) only
        records the ref, and a mistake shows in the scheduler's history instead.
        """
        if check or not isinstance(pipeline, str):
            ref, found = _resolve(pipeline)
        else:
            ref, found = _check_ref(pipeline), None
        given = _jsonable(dict(params or {}), f"params of {ref}")
        stored = self.store.find_schedule(ref)
        if found is not None:  # a bad parameter fails here, not later
            found.bind({**(stored.params if stored else {}), **given})
        request = PipelineRequest(
            id=new_id(),
            ref=ref,
            params=given,
            reason=str(reason)[:MAX_REASON],
            requested_at=self.clock(),
            requested_by=_actor(),
        )
        self.store.add_request(request)
        self._record("pipeline.request", f"schedule:{ref}", {"params": given, "reason": request.reason})
        return request

    def requests(self, status: str | None = "pending", limit: int = 100) -> builtins.list[PipelineRequest]:
        """Run requests (``pending`` ones by default; ``None`` for all), oldest first."""
        return self.store.list_requests(status, _limit(limit))

    def claims(self, schedule: str | None = None, limit: int = 50) -> builtins.list[Claim]:
        """What the scheduler started (for one schedule, by ref or id, or all), newest first."""
        schedule_id = None if schedule is None else self.get(schedule).id
        return self.store.list_claims(schedule_id, _limit(limit))

    def scheduler(
        self,
        *,
        executor: str = "local",
        grace_s: float = 60.0,
        notify: Callable[[Notice], None] | None = None,
        tasks: Sequence[Callable[[], object]] = (),
    ) -> Scheduler:
        """A scheduler over these records: ``run_once()`` is one pass, ``run_forever()`` the loop;
        ``tasks`` run at the start of every pass."""
        from shipyard.pipelines.scheduling import Scheduler

        return Scheduler(self, executor=executor, grace_s=grace_s, notify=notify, tasks=tasks)

    def _audit_head(self) -> int:
        head = None if self.audit is None else self.audit.head()
        return 0 if head is None else head[0]

    def _record(self, action: str, target: str, payload: Any) -> None:
        if self.audit is not None:
            self.audit.record(_actor(), action, target, payload)


def _resolve(pipeline: Pipeline | str) -> tuple[str, Pipeline]:
    """The import ref of ``pipeline`` and the pipeline it names (imported now: a typo fails here)."""
    if isinstance(pipeline, Pipeline):
        if pipeline.source is None:
            raise InvalidInputError(
                f"pipeline {pipeline.name!r} cannot be imported by name (defined in __main__ or inside a "
                "function): the scheduler imports pipelines, so define it at the top of a module"
            )
        return pipeline.source, pipeline
    if not isinstance(pipeline, str):
        raise InvalidInputError(f"expected a pipeline or its 'module:attribute' ref, got {pipeline!r}")
    return pipeline, load_pipeline(pipeline)


def _check_ref(ref: str) -> str:
    module, sep, attribute = ref.partition(":")
    if not sep or not module or not attribute or len(ref) > 512:
        raise InvalidInputError(f"name a pipeline as module:attribute (e.g. train:training), got {ref!r}")
    return ref


def _check_params(
    pipeline: Pipeline, params: dict[str, Any], cron: str | None, triggers: tuple[Trigger, ...]
) -> dict[str, Any]:
    """``params`` if every start of the pipeline (cron, each trigger) will bind; the error otherwise."""
    given = _jsonable(params, f"params of pipeline {pipeline.name!r}")
    for trigger in triggers:
        if trigger.param is not None and trigger.param not in pipeline.params:
            raise InvalidInputError(
                f"trigger {trigger.describe()}: pipeline {pipeline.name!r} has no parameter {trigger.param!r}"
            )
    if cron is not None:
        pipeline.bind(given)
    for trigger in triggers:
        sample = _SAMPLES[trigger.kind].format(name=trigger.name)
        pipeline.bind({**given, trigger.param: sample} if trigger.param else given)
    return given


def _jsonable(values: dict[str, Any], what: str) -> dict[str, Any]:
    try:
        return dict(orjson.loads(orjson.dumps(values)))
    except TypeError as exc:
        raise InvalidInputError(f"{what} must be JSON values: {exc}") from None


def _triggers_json(triggers: tuple[Trigger, ...]) -> builtins.list[dict[str, Any]]:
    return [t.to_json() for t in triggers]


def _limit(limit: int) -> int:
    if not 1 <= limit <= 10_000:
        raise InvalidInputError(f"limit must be between 1 and 10000, got {limit}")
    return limit


def _actor() -> str:
    from shipyard.core.actors import current_actor

    return current_actor()
