"""Cache keys: a step's code, its arguments, and the digests of its inputs, hashed together.

The code is the step function's source, parsed and dumped as a syntax tree without
its decorators and docstring, so comments, blank lines, formatting and ``@step(...)``
options do not count, but any change to what the function does does. (Functions the
step calls are not part of the key: change the step, or run with ``--no-cache``,
when only a helper changed.)

>>> def f(x):
...     return x + 1
>>> def g(x):  # a comment, and other spacing
...     return x+1
>>> source_digest(f) == source_digest(g), source_digest(f) == source_digest(lambda x: x + 2)
(True, False)
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import marshal
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from shipyard.pipelines.graph import Node, Param, Ref, to_json
from shipyard.pipelines.models import OutputRef

CACHE_FORMAT = 1


def source_digest(fn: Callable[..., Any]) -> str:
    """``sha256:`` of the normalised source of ``fn`` (its bytecode when the source is not available)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        text = ast.dump(_function_node(tree, getattr(fn, "__name__", "")))
    except (OSError, TypeError, SyntaxError, LookupError):
        code = getattr(fn, "__code__", None)
        text = marshal.dumps(code).hex() if code is not None else repr(fn)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _function_node(tree: ast.Module, name: str) -> ast.AST:
    """The definition of ``name`` (or the lambda) in ``tree``, without decorators and docstring."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            node.decorator_list = []
            node.name = ""  # the step's qualified name is part of the key on its own
            body = node.body
            first = body[0] if body else None
            docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if docstring and len(body) > 1 and isinstance(first.value.value, str):  # type: ignore[union-attr]
                node.body = body[1:]
            return node
        if isinstance(node, ast.Lambda) and name == "<lambda>":
            return node
    raise LookupError(name)


def step_source_digest(node: Node) -> str:
    """The source digest of a node's step, computed once per step."""
    step = node.step
    digest: str | None = step.__dict__.get("_source_digest")
    if digest is None:
        digest = step.__dict__["_source_digest"] = source_digest(step.fn)
    return digest


def cache_key(node: Node, params: Mapping[str, Any], inputs: Mapping[str, OutputRef]) -> str:
    """The key of a node's outputs: step name and code, arguments with parameters bound, input digests.

    ``inputs`` maps ``"<node>.<output>"`` to the stored output read (its digest and the
    materialiser that wrote it, so a new materialiser version is a new key).
    """

    def value_of(marker: Ref | Param) -> Any:
        if isinstance(marker, Param):
            return {"$param": marker.name, "value": params[marker.name]}
        ref = inputs[marker.key]
        return {"$input": ref.digest, "as": ref.materializer}

    material = {
        "format": CACHE_FORMAT,
        "step": node.step.qualname,
        "source": step_source_digest(node),
        "arguments": {name: to_json(value, value_of) for name, value in node.arguments.items()},
        "outputs": list(node.step.options.outputs),
    }
    return "sha256:" + hashlib.sha256(orjson.dumps(material, option=orjson.OPT_SORT_KEYS)).hexdigest()
