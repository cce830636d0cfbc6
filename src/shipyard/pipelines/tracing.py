"""Tracing a pipeline function into its graph, before anything runs.

The pipeline function is called once, at definition time, with a placeholder for
each of its parameters. Each step it calls returns a :class:`StepOutput` handle
instead of a value, and the call becomes a node of the graph. A handle has no
value yet, so anything but passing it to a step (or returning it) is an error:

>>> from shipyard.pipelines.steps import step
>>> @step
... def load() -> int:
...     return 3
>>> graph = trace(lambda: load(), "demo")
>>> list(graph.nodes), graph.outputs["output"].key
(['load'], 'load.output')
>>> trace(lambda: load() + 1, "demo")
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: pipeline 'demo': the output of step 'load' has no value while \
the pipeline is defined (it was used with +); only pass it to steps or return it
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, NoReturn

from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.graph import Graph, Node, Param, Ref
from shipyard.pipelines.params import ParamSpec, check_literal, param_specs
from shipyard.pipelines.steps import Step

_current: contextvars.ContextVar[Tracer | None] = contextvars.ContextVar("shipyard_tracer", default=None)


def current_tracer() -> Tracer | None:
    """The tracer of the pipeline being defined in this context, if any."""
    return _current.get()


class _Placeholder:
    """Something that has no value while a pipeline is defined: every use but passing it on fails."""

    __slots__ = ("_tracer",)

    def __init__(self, tracer: Tracer) -> None:
        object.__setattr__(self, "_tracer", tracer)

    def _what(self) -> str:
        raise NotImplementedError

    def _refuse(self, use: str) -> NoReturn:
        raise InvalidInputError(
            f"pipeline {self._tracer.pipeline!r}: {self._what()} has no value while the pipeline is defined "
            f"(it was used with {use}); only pass it to steps or return it"
        )

    def __getattr__(self, name: str) -> Any:
        self._refuse(f".{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        self._refuse(f".{name} =")

    def __hash__(self) -> int:
        self._refuse("hash()")


_OPERATORS = {
    "__bool__": "bool() or an if",
    "__len__": "len()",
    "__iter__": "iteration or unpacking",
    "__contains__": "in",
    "__getitem__": "[...]",
    "__setitem__": "[...] =",
    "__call__": "a call",
    "__str__": "str() or an f-string",
    "__format__": "format() or an f-string",
    "__int__": "int()",
    "__float__": "float()",
    "__index__": "an index",
    "__eq__": "==",
    "__ne__": "!=",
    "__lt__": "<",
    "__le__": "<=",
    "__gt__": ">",
    "__ge__": ">=",
    "__neg__": "unary -",
    "__abs__": "abs()",
    "__array__": "numpy",
}
for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"):
    _symbol = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%"}.get(_op, _op)
    _OPERATORS[f"__{_op}__"] = _OPERATORS[f"__r{_op}__"] = _symbol


def _refusing(use: str) -> Callable[..., NoReturn]:
    def method(self: _Placeholder, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse(use)

    return method


for _name, _use in _OPERATORS.items():
    setattr(_Placeholder, _name, _refusing(_use))


class StepOutput(_Placeholder):
    """The future output of a step call inside a pipeline definition."""

    __slots__ = ("_ref",)

    def __init__(self, tracer: Tracer, ref: Ref) -> None:
        super().__init__(tracer)
        object.__setattr__(self, "_ref", ref)

    def _what(self) -> str:
        ref: Ref = object.__getattribute__(self, "_ref")
        return f"the output of step {ref.node!r}" if ref.output == "output" else f"output {ref.key!r}"

    def __repr__(self) -> str:
        return f"<StepOutput {object.__getattribute__(self, '_ref').key}>"


class ParamValue(_Placeholder):
    """A pipeline parameter inside its definition: its value is bound when the pipeline runs."""

    __slots__ = ("_name",)

    def __init__(self, tracer: Tracer, name: str) -> None:
        super().__init__(tracer)
        object.__setattr__(self, "_name", name)

    def _what(self) -> str:
        return f"parameter {object.__getattribute__(self, '_name')!r}"

    def __repr__(self) -> str:
        return f"<pipeline parameter {object.__getattribute__(self, '_name')}>"


class Tracer:
    """Collects the step calls of one pipeline function call into nodes."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.nodes: dict[str, Node] = {}

    def add(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        where = f"pipeline {self.pipeline!r}: step {step.name!r}"
        try:
            bound = step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInputError(f"{where}: {exc}") from None
        arguments = {
            name: self._template(value, f"{where}, argument {name!r}")
            for name, value in bound.arguments.items()
        }
        name = step.name
        count = 1
        while name in self.nodes:
            count += 1
            name = f"{step.name}_{count}"
        self.nodes[name] = Node(name, step, arguments)
        handles = tuple(StepOutput(self, Ref(name, output)) for output in step.options.outputs)
        return handles[0] if len(handles) == 1 else handles

    def _template(self, value: Any, where: str) -> Any:
        if isinstance(value, _Placeholder):
            if object.__getattribute__(value, "_tracer") is not self:
                raise InvalidInputError(f"{where}: {value._what()} belongs to another pipeline")
            if isinstance(value, StepOutput):
                return object.__getattribute__(value, "_ref")
            return Param(object.__getattribute__(value, "_name"))
        if isinstance(value, list | tuple):
            items = [self._template(v, where) for v in value]
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, dict):
            check_literal(dict.fromkeys(value), where)  # string keys only
            return {k: self._template(v, where) for k, v in value.items()}
        check_literal(value, where)
        return value

    def outputs(self, returned: Any) -> dict[str, Ref]:
        """The pipeline's outputs from what its function returned: a handle, a tuple or dict of them."""
        if returned is None:
            return {}
        if isinstance(returned, StepOutput):
            returned = {"output": returned}
        elif isinstance(returned, list | tuple):
            returned = {str(i): value for i, value in enumerate(returned)}
        if not isinstance(returned, dict) or not all(isinstance(v, StepOutput) for v in returned.values()):
            raise InvalidInputError(
                f"pipeline {self.pipeline!r} must return None, a step's output, or a tuple or dict of them"
            )
        return {str(k): self._template(v, f"returned value {k!r}") for k, v in returned.items()}


def trace(fn: Callable[..., Any], pipeline: str, params: dict[str, ParamSpec] | None = None) -> Graph:
    """Call ``fn`` with placeholders for its parameters and return the graph of its step calls."""
    specs = param_specs(fn, f"pipeline {pipeline!r}") if params is None else params
    for spec in specs.values():
        if not spec.required:
            check_literal(spec.default, f"pipeline {pipeline!r}: default of parameter {spec.name!r}")
    tracer = Tracer(pipeline)
    token = _current.set(tracer)
    try:
        returned = fn(**{name: ParamValue(tracer, name) for name in specs})
    finally:
        _current.reset(token)
    return Graph.build(list(tracer.nodes.values()), specs, tracer.outputs(returned))
