"""Executors run step attempts; the runner decides what runs when. Executors by name, imported on first use.

An executor receives :class:`~shipyard.pipelines.execution.StepCall` objects and
hands back an :class:`Attempt` whose future resolves to a
:class:`~shipyard.pipelines.execution.CallResult`. Inputs and outputs travel
through the artifact store by digest, so an executor moves only small messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from typing import ClassVar

from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.execution import Blobs, CallResult, ContentSpec, StepCall

#: Executors by name: "module:Class", imported on first use.
EXECUTORS: dict[str, str] = {
    "local": "shipyard.pipelines.local_executor:LocalExecutor",
    "ray": "shipyard.pipelines.ray_executor:RayExecutor",
}


class Attempt:
    """One submitted attempt: its future, and how to stop it (used on timeout)."""

    def __init__(self, future: Future[CallResult], cancel: Callable[[], None] | None = None) -> None:
        self.future = future
        self._cancel = cancel

    def cancel(self) -> None:
        """Stop the attempt if it is still running (kill its process or task)."""
        if self._cancel is not None:
            self._cancel()

    @classmethod
    def done(cls, result: CallResult) -> Attempt:
        future: Future[CallResult] = Future()
        future.set_result(result)
        return cls(future)


class Executor(ABC):
    """Runs attempts. ``by_value``: calls carry the step itself (for workers that cannot import it)."""

    name: ClassVar[str]
    by_value: ClassVar[bool] = False

    @abstractmethod
    def start(self, spec: ContentSpec, blobs: Blobs) -> None:
        """Get ready to run attempts that read and write the artifact store of ``spec``
        (``blobs`` is that store, already open in this process)."""

    @abstractmethod
    def submit(self, call: StepCall, timeout: float | None, alone: bool) -> Attempt:
        """Start an attempt. ``alone``: nothing else is running or ready, so it may run right here.
        A step with a ``timeout`` must run where it can be killed."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release workers."""


def make_executor(name: str | Executor) -> Executor:
    """An executor by name (``local``, ``ray``), or the one given."""
    if isinstance(name, Executor):
        return name
    dotted = EXECUTORS.get(name)
    if dotted is None:
        raise InvalidInputError(f"unknown executor {name!r}; known executors: {', '.join(sorted(EXECUTORS))}")
    import importlib

    module, _, attr = dotted.partition(":")
    cls: type[Executor] = getattr(importlib.import_module(module), attr)
    return cls()
