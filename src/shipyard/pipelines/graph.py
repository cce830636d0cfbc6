"""The graph of a pipeline: nodes (one per step call), their arguments, and checks.

An argument of a node is a *template*: a JSON-like value (scalars, lists, tuples,
dicts with string keys) in which :class:`Ref` marks the output of another node and
:class:`Param` a parameter of the pipeline. :meth:`Graph.build` refuses a graph with
an unknown step or output, an unknown parameter, or a cycle:

>>> from shipyard.pipelines.steps import step
>>> a, b = step(lambda x: x, name="a"), step(lambda x: x, name="b")
>>> Graph.build([Node("a", a, {"x": Ref("b")}), Node("b", b, {"x": Ref("a")})], {})
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: the steps form a cycle: b -> a -> b
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.params import ParamSpec
from shipyard.pipelines.steps import Step


@dataclass(frozen=True)
class Ref:
    """The output ``output`` of node ``node``."""

    node: str
    output: str = "output"

    @property
    def key(self) -> str:
        return f"{self.node}.{self.output}"


@dataclass(frozen=True)
class Param:
    """The pipeline parameter ``name``, bound when the pipeline runs."""

    name: str


def walk(template: Any) -> Iterator[Ref | Param]:
    """Every :class:`Ref` and :class:`Param` in a template."""
    if isinstance(template, Ref | Param):
        yield template
    elif isinstance(template, list | tuple):
        for item in template:
            yield from walk(item)
    elif isinstance(template, dict):
        for item in template.values():
            yield from walk(item)


def substitute(template: Any, value_of: Callable[[Ref | Param], Any]) -> Any:
    """The template with each marker replaced by ``value_of(marker)``; containers keep their type."""
    if isinstance(template, Ref | Param):
        return value_of(template)
    if isinstance(template, list):
        return [substitute(item, value_of) for item in template]
    if isinstance(template, tuple):
        return tuple(substitute(item, value_of) for item in template)
    if isinstance(template, dict):
        return {k: substitute(v, value_of) for k, v in template.items()}
    return template


def marker_json(marker: Ref | Param) -> Any:
    """How a marker is shown in JSON: ``{"$ref": "node.output"}`` or ``{"$param": name}``."""
    return {"$ref": marker.key} if isinstance(marker, Ref) else {"$param": marker.name}


def to_json(template: Any, marker: Callable[[Ref | Param], Any] = marker_json) -> Any:
    """A JSON value for a template, each marker replaced by ``marker(m)``; a literal dict with a key
    starting with ``$`` is wrapped as ``{"$literal": ...}`` so it cannot pass for a marker."""
    if isinstance(template, Ref | Param):
        return marker(template)
    if isinstance(template, list | tuple):
        return [to_json(item, marker) for item in template]
    if isinstance(template, dict):
        out = {k: to_json(v, marker) for k, v in template.items()}
        return {"$literal": out} if any(k.startswith("$") for k in out) else out
    return template


@dataclass(frozen=True)
class Node:
    """One call of a step in a pipeline: its name in the graph, the step, and its argument templates."""

    name: str
    step: Step
    arguments: dict[str, Any] = field(default_factory=dict)

    @property
    def upstream(self) -> tuple[str, ...]:
        """The nodes whose outputs this node reads, in first-use order."""
        names = (m.node for value in self.arguments.values() for m in walk(value) if isinstance(m, Ref))
        return tuple(dict.fromkeys(names))

    @property
    def refs(self) -> tuple[Ref, ...]:
        found = (m for value in self.arguments.values() for m in walk(value) if isinstance(m, Ref))
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Graph:
    """Nodes in a topological order, the pipeline's parameters and its outputs (name -> Ref)."""

    nodes: dict[str, Node]
    params: dict[str, ParamSpec]
    outputs: dict[str, Ref] = field(default_factory=dict)

    @classmethod
    def build(
        cls, nodes: Sequence[Node], params: Mapping[str, ParamSpec], outputs: Mapping[str, Ref] | None = None
    ) -> Graph:
        """Check the nodes and order them so each comes after the nodes it reads."""
        by_name: dict[str, Node] = {}
        for node in nodes:
            if node.name in by_name:
                raise InvalidInputError(f"two steps are named {node.name!r}")
            by_name[node.name] = node
        for node in nodes:
            for marker in (m for v in node.arguments.values() for m in walk(v)):
                _check_marker(marker, by_name, params, f"step {node.name!r}")
        for name, ref in (outputs or {}).items():
            _check_marker(ref, by_name, params, f"pipeline output {name!r}")
        order = _topological(by_name)
        return cls({n: by_name[n] for n in order}, dict(params), dict(outputs or {}))

    def downstream(self, name: str) -> list[str]:
        """Every node that reads, directly or not, from node ``name``, in graph order."""
        reached = {name}
        for node in self.nodes.values():
            if reached.intersection(node.upstream):
                reached.add(node.name)
        reached.discard(name)
        return [n for n in self.nodes if n in reached]

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [
                {
                    "name": n.name,
                    "step": n.step.qualname,
                    "upstream": list(n.upstream),
                    "arguments": {k: to_json(v) for k, v in n.arguments.items()},
                }
                for n in self.nodes.values()
            ],
            "params": {name: spec.to_json() for name, spec in self.params.items()},
            "outputs": {name: ref.key for name, ref in self.outputs.items()},
        }


def _check_marker(
    marker: Ref | Param, nodes: Mapping[str, Node], params: Mapping[str, ParamSpec], where: str
) -> None:
    if isinstance(marker, Param):
        if marker.name not in params:
            raise InvalidInputError(
                f"{where} reads parameter {marker.name!r}, which the pipeline does not have"
            )
        return
    source = nodes.get(marker.node)
    if source is None:
        raise InvalidInputError(
            f"{where} reads the output of step {marker.node!r}, which is not in the pipeline"
        )
    if marker.output not in source.step.options.outputs:
        known = ", ".join(source.step.options.outputs)
        raise InvalidInputError(
            f"{where} reads output {marker.output!r} of step {marker.node!r}; it has: {known}"
        )


def _topological(nodes: Mapping[str, Node]) -> list[str]:
    """Kahn's algorithm, stable: among ready nodes the first defined comes first, so a graph
    traced from a pipeline function keeps the order of its calls."""
    index = {name: i for i, name in enumerate(nodes)}
    waiting = {name: len(node.upstream) for name, node in nodes.items()}
    below: dict[str, list[str]] = {name: [] for name in nodes}
    for node in nodes.values():
        for up in node.upstream:
            below[up].append(node.name)
    ready = [index[name] for name, count in waiting.items() if not count]
    heapq.heapify(ready)
    names = list(nodes)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for other in below[name]:
            waiting[other] -= 1
            if not waiting[other]:
                heapq.heappush(ready, index[other])
    if len(order) != len(nodes):
        raise InvalidInputError(f"the steps form a cycle: {_cycle(nodes, set(order))}")
    return order


def _cycle(nodes: Mapping[str, Node], done: set[str]) -> str:
    """One cycle among the nodes not in ``done``, as ``a -> b -> a``."""
    start = next(n for n in nodes if n not in done)
    path: list[str] = []
    current = start
    while current not in path:
        path.append(current)
        current = next(u for u in nodes[current].upstream if u not in done)
    flow = path[path.index(current) :][::-1]  # upstream links reversed: the way data flows
    return " -> ".join([*flow, flow[0]])
