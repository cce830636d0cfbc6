"""``@step``: a function whose calls inside a pipeline become nodes of its graph.

Outside a pipeline definition a step is the plain function it wraps:

>>> @step(retries=2)
... def double(x: int) -> int:
...     return 2 * x
>>> double(21), double.options.retries, double.name
(42, 2, 'double')
"""

from __future__ import annotations

import inspect
import itertools
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    from shipyard.pipelines.tracing import Tracer

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")  # no ".": "<node>.<output>" names an output
_tokens = itertools.count(1)

#: Every live step of this process by token: a worker forked from the driver finds its steps
#: here, even those that are not importable by name (defined in a function, or in ``__main__``).
STEPS: weakref.WeakValueDictionary[str, Step] = weakref.WeakValueDictionary()
_lock = threading.Lock()


@dataclass(frozen=True)
class StepOptions:
    """How a step runs: caching, retries with exponential backoff, a timeout, its output names."""

    cache: bool = True
    retries: int = 0
    retry_delay: float = 1.0
    timeout: float | None = None
    outputs: tuple[str, ...] = ("output",)

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise InvalidInputError(f"retries must be an integer >= 0, got {self.retries!r}")
        if not isinstance(self.retry_delay, int | float) or self.retry_delay < 0:
            raise InvalidInputError(f"retry_delay must be a number of seconds >= 0, got {self.retry_delay!r}")
        if self.timeout is not None and (not isinstance(self.timeout, int | float) or self.timeout <= 0):
            raise InvalidInputError(f"timeout must be a number of seconds > 0, got {self.timeout!r}")
        if not self.outputs or len(set(self.outputs)) != len(self.outputs):
            raise InvalidInputError(f"outputs must be distinct names, got {self.outputs!r}")
        for name in self.outputs:
            check_step_name(name, "output name")

    def retry_wait(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (exponential backoff, at most 10 minutes)."""
        return float(min(self.retry_delay * 2 ** max(attempt - 1, 0), 600.0))


def check_step_name(name: object, what: str = "step name") -> str:
    """A name usable in artifact paths and tags: a letter or ``_``, then letters, digits, ``_ -``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{what} {name!r} is invalid: use a letter or '_' followed by letters, digits, '_' or '-'"
        )
    return name


class Step:
    """A function wrapped by :func:`step`. Calling it inside a pipeline definition adds a node."""

    def __init__(self, fn: Callable[..., Any], options: StepOptions, name: str | None = None) -> None:
        if not callable(fn) or inspect.isclass(fn):
            raise InvalidInputError(f"@step wraps a function, got {fn!r}")
        self.fn = fn
        self.options = options
        self.name = check_step_name(name or fn.__name__)
        self.module = str(getattr(fn, "__module__", None) or "__main__")
        self.qualname = f"{self.module}.{getattr(fn, '__qualname__', self.name)}"
        self.signature = inspect.signature(fn)
        for param in self.signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise InvalidInputError(
                    f"step {self.qualname}: *args and **kwargs are not supported; name every argument"
                )
        self.token = f"{next(_tokens)}:{self.qualname}"
        with _lock:
            STEPS[self.token] = self
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<step {self.qualname}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from shipyard.pipelines.tracing import current_tracer

        tracer: Tracer | None = current_tracer()
        if tracer is None:
            return self.fn(*args, **kwargs)
        return tracer.add(self, args, kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # The function travels by value (cloudpickle, for Ray); the signature is rebuilt.
        state = dict(self.__dict__)
        del state["signature"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.signature = inspect.signature(self.fn)


@overload
def step(fn: Callable[..., Any], /) -> Step: ...


@overload
def step(
    fn: None = None,
    /,
    *,
    cache: bool = True,
    retries: int = 0,
    retry_delay: float = 1.0,
    timeout: float | None = None,
    name: str | None = None,
    outputs: Sequence[str] | None = None,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    cache: bool = True,
    retries: int = 0,
    retry_delay: float = 1.0,
    timeout: float | None = None,
    name: str | None = None,
    outputs: Sequence[str] | None = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make ``fn`` a pipeline step (``@step`` or ``@step(...)``).

    ``cache``: reuse the stored outputs of an earlier run with the same code, arguments
    and inputs. ``retries``: attempts after the first when the function raises or times
    out, waiting ``retry_delay`` seconds, doubled after each attempt. ``timeout``: seconds
    an attempt may take (the step then runs in a worker process, killed on timeout).
    ``outputs``: names of several outputs; the function then returns a tuple of as many
    values, and a call in a pipeline returns as many handles.
    """
    options = StepOptions(cache, retries, retry_delay, timeout, tuple(outputs) if outputs else ("output",))

    def wrap(function: Callable[..., Any]) -> Step:
        return Step(function, options, name)

    return wrap if fn is None else wrap(fn)


def find_step(token: str, module: str, qualname: str) -> Step:
    """The step with ``token`` in this process, else the one importable as ``module`` + ``qualname``."""
    found = STEPS.get(token)
    if found is not None:
        return found
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname[len(module) + 1 :].split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, Step):
        raise InvalidInputError(
            f"step {qualname} cannot be found in this worker: define it at the top level of an importable "
            "module (or use the local executor, whose workers are forked from the driver)"
        )
    return obj
