"""``@pipeline``: a function that calls steps, traced into a graph when it is defined.

>>> from shipyard.pipelines.steps import step
>>> @step
... def load(n: int) -> list[int]:
...     return list(range(n))
>>> @step
... def total(values: list[int]) -> int:
...     return sum(values)
>>> @pipeline
... def numbers(n: int = 4):
...     return total(load(n))
>>> list(numbers.graph.nodes), numbers.bind({"n": "10"})
(['load', 'total'], {'n': 10})

Called outside a run, a pipeline is its plain function (so are its steps):

>>> numbers(5)
10
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.cron import check_cron
from shipyard.pipelines.graph import Graph
from shipyard.pipelines.params import bind_params, param_specs
from shipyard.pipelines.steps import check_step_name
from shipyard.pipelines.tracing import trace
from shipyard.pipelines.triggers import check_triggers


class Pipeline:
    """A pipeline: its name, its traced graph, and when it should run (``schedule``, ``triggers``).

    ``schedule`` (a cron expression, UTC) and ``triggers`` (``sy.on_dataset(...)``...) say when
    ``shipyard scheduler`` starts it once it is added there (``shipyard scheduler add``); running
    it now is ``sy.pipelines.run(pipeline, params)`` or ``shipyard pipelines run``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        schedule: str | None = None,
        triggers: Sequence[Any] = (),
    ) -> None:
        if not callable(fn):
            raise InvalidInputError(f"@pipeline wraps a function, got {fn!r}")
        self.fn = fn
        self.name = check_step_name(name or fn.__name__, "pipeline name")
        self.schedule = None if schedule is None else check_cron(schedule)
        self.triggers = check_triggers(triggers)
        self.params = param_specs(fn, f"pipeline {self.name!r}")
        self.graph: Graph = trace(fn, self.name, self.params)
        module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
        # How to import it again (what `resume` needs); None when it is not importable by name.
        importable = module and module != "__main__" and "<" not in qualname
        self.source = f"{module}:{qualname}" if importable else None
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<pipeline {self.name} ({len(self.graph.nodes)} steps)>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The plain function; inside another pipeline's definition its steps join that graph."""
        return self.fn(*args, **kwargs)

    def bind(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every parameter's value for a run: ``values`` coerced to their types, defaults for the rest."""
        return bind_params(self.params, values or {}, f"pipeline {self.name!r}")


@overload
def pipeline(fn: Callable[..., Any], /) -> Pipeline: ...


@overload
def pipeline(
    fn: None = None, /, *, name: str | None = None, schedule: str | None = None, triggers: Sequence[Any] = ()
) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    schedule: str | None = None,
    triggers: Sequence[Any] = (),
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Make ``fn`` a pipeline (``@pipeline`` or ``@pipeline(...)``); its graph is traced at once, so a
    missing or unknown argument of a step, a use of a step's output other than passing it on, or a
    cycle is an error here, before anything runs."""

    def wrap(function: Callable[..., Any]) -> Pipeline:
        return Pipeline(function, name, schedule, triggers)

    return wrap if fn is None else wrap(fn)
