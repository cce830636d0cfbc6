"""Running one attempt of one step, wherever it runs: in the driver, a worker process, a Ray task.

An attempt reads its inputs from the artifact store by digest, calls the step's
function, and writes each output back through its materialiser, so what crosses
process boundaries is a small :class:`StepCall` and a small :class:`CallResult`,
never the data itself. The user's exception never crosses either: the result
carries its traceback as text.
"""

from __future__ import annotations

import inspect
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shipyard.core.clock import now_ms
from shipyard.pipelines.graph import Param, Ref, substitute
from shipyard.pipelines.materializers import (
    Materializer,
    UnsupportedOutput,
    get_materializer,
    materialize,
    register_materializer,
    registered,
    type_name,
)
from shipyard.pipelines.models import OutputRef
from shipyard.pipelines.steps import Step, find_step

if TYPE_CHECKING:
    from shipyard.pipelines.graph import Node

MAX_ERROR_CHARS = 8000


class Blobs(Protocol):
    """What an attempt needs of the artifact store (a ContentStore or a server's RestContentStore)."""

    def put_bytes(self, data: bytes) -> str: ...

    def get_bytes(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...


@dataclass(frozen=True)
class ContentSpec:
    """How a worker opens the artifact store: a blob store URI (folder, ``s3://``), or a server's."""

    uri: str
    endpoint_url: str | None = None
    remote: bool = False
    token: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def open(self) -> Blobs:
        if self.remote:
            from shipyard.client.content import RestContentStore

            return RestContentStore(self.uri, token=self.token, timeout=self.timeout)
        from shipyard.storage import open_blob_store
        from shipyard.storage.cas import ContentStore

        return ContentStore(open_blob_store(self.uri, self.endpoint_url))


_opened: dict[ContentSpec, Blobs] = {}
_opened_lock = threading.Lock()


def open_content(spec: ContentSpec) -> Blobs:
    """The artifact store of ``spec``, opened once per process."""
    with _opened_lock:
        blobs = _opened.get(spec)
        if blobs is None:
            blobs = _opened[spec] = spec.open()
        return blobs


def forget_opened() -> None:
    """Drop the stores (and the lock) inherited from a parent process: a forked worker opens its own."""
    global _opened_lock
    _opened_lock = threading.Lock()
    _opened.clear()


@dataclass(frozen=True)
class StepCall:
    """One attempt of one node: the step, its arguments (parameters already bound), its inputs.

    ``inputs`` maps ``"<node>.<output>"`` of each upstream output read to where it is
    stored. ``step`` is set only when the step must travel by value (Ray); otherwise
    the worker finds it by token (forked workers) or imports it by name.
    """

    node: str
    attempt: int
    step_token: str
    step_module: str
    step_qualname: str
    arguments: dict[str, Any]
    inputs: dict[str, OutputRef]
    outputs: tuple[str, ...]
    step: Step | None = None
    materializers: tuple[Materializer, ...] = ()

    @classmethod
    def of(
        cls,
        node: Node,
        attempt: int,
        params: dict[str, Any],
        inputs: dict[str, OutputRef],
        by_value: bool = False,
    ) -> StepCall:
        step = node.step
        arguments = {
            name: substitute(value, lambda m: params[m.name] if isinstance(m, Param) else m)
            for name, value in node.arguments.items()
        }
        return cls(
            node.name,
            attempt,
            step.token,
            step.module,
            step.qualname,
            arguments,
            inputs,
            step.options.outputs,
            step if by_value else None,
            registered(),
        )


@dataclass(frozen=True)
class CallResult:
    """What came of an attempt: its outputs, or the traceback of its failure."""

    node: str
    attempt: int
    started_at: int
    ended_at: int
    outputs: dict[str, OutputRef] = field(default_factory=dict)
    error: str | None = None
    retryable: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None


def run_call(call: StepCall, spec: ContentSpec) -> CallResult:
    """Run an attempt in a worker: open the artifact store (once per process), then :func:`execute`."""
    return execute(call, open_content(spec))


def execute(call: StepCall, blobs: Blobs) -> CallResult:
    """Run one attempt: load the inputs, call the function, store the outputs."""
    started = now_ms()
    clock = time.perf_counter()
    if call.materializers and call.materializers != registered():  # a worker learns the driver's
        for materializer in reversed(call.materializers):
            register_materializer(materializer)
    try:
        step = call.step or find_step(call.step_token, call.step_module, call.step_qualname)
        values = {key: _load(blobs, ref) for key, ref in call.inputs.items()}
        kwargs = {
            name: substitute(value, lambda m: values[m.key] if isinstance(m, Ref) else m)
            for name, value in call.arguments.items()
        }
        bound = inspect.BoundArguments(step.signature, OrderedDict(kwargs))
        returned = step.fn(*bound.args, **bound.kwargs)
    except (Exception, SystemExit):  # sys.exit() in a step fails the step, not the driver
        return _failed(call, started, clock, _traceback(), retryable=True)
    try:
        outputs = _store(step, call.outputs, returned, blobs)
    except UnsupportedOutput as exc:
        return _failed(call, started, clock, exc.message, retryable=False)
    except Exception:
        return _failed(call, started, clock, _traceback(), retryable=True)
    return CallResult(call.node, call.attempt, started, started + _elapsed_ms(clock), outputs)


def _load(blobs: Blobs, ref: OutputRef) -> Any:
    return get_materializer(ref.materializer).load(blobs.get_bytes(ref.digest))


def _store(step: Step, names: tuple[str, ...], returned: Any, blobs: Blobs) -> dict[str, OutputRef]:
    if len(names) == 1:
        values = {names[0]: returned}
    elif isinstance(returned, tuple | list) and len(returned) == len(names):
        values = dict(zip(names, returned, strict=True))
    else:
        raise UnsupportedOutput(
            f"step {step.name!r} declares {len(names)} outputs ({', '.join(names)}) but returned "
            f"a {type_name(returned)}; return a tuple of {len(names)} values"
        )
    stored = {}
    for name, value in values.items():
        try:
            materializer, data = materialize(value)
        except UnsupportedOutput as exc:
            label = "" if len(names) == 1 else f" (output {name!r})"
            raise UnsupportedOutput(
                f"step {step.name!r} returned a {type_name(value)}{label}, which cannot be stored: "
                f"{exc.message}; return a DataFrame, an Arrow table, a NumPy array or a JSON value, "
                "or register a materialiser with sy.pipelines.register_materializer"
            ) from None
        stored[name] = OutputRef(blobs.put_bytes(data), materializer.key, len(data))
    return stored


def _failed(call: StepCall, started: int, clock: float, error: str, retryable: bool) -> CallResult:
    return CallResult(
        call.node, call.attempt, started, started + _elapsed_ms(clock), error=error, retryable=retryable
    )


def _elapsed_ms(clock: float) -> int:
    return int((time.perf_counter() - clock) * 1000)


def _traceback() -> str:
    return traceback.format_exc()[-MAX_ERROR_CHARS:]
