"""Suites from YAML text, files or Python objects, checked before any data is read.

Every mistake is an :class:`~shipyard.core.errors.InvalidInputError` naming where it
is: ``suite.yaml line 7: ...`` for YAML (lines from ``yaml.compose`` node marks), or
``suite checks[2].between: ...`` for Python objects.

>>> suite = parse_suite("name: t\\nchecks:\\n  - {column: a, not_null: {mostly: 0.9}}\\n")
>>> suite.checks[0], suite.checks[0].line
(NotNull(column='a', mostly=0.9), 3)
>>> bad = "name: t\\nchecks:\\n  - {column: a, not_nul: true}\\n"
>>> parse_suite(bad, source="s.yaml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: s.yaml line 3: unknown check 'not_nul' (did you mean 'not_null'?); ...
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.validation.models import (
    CHECK_TYPES,
    Between,
    Check,
    Drift,
    DType,
    Expression,
    Freshness,
    InSet,
    NotNull,
    Regex,
    RowCount,
    Suite,
    Unique,
)
from shipyard.validation.vocabulary import (
    DRIFT_TESTS,
    DTYPE_ALIASES,
    DTYPE_FAMILIES,
    dtype_family,
    parse_duration,
)

_SELECT = re.compile(r"\b(select|from|copy|attach|pragma|install|load)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Node:
    """A value with where it was written: scalars as is, lists of nodes, dicts of str -> node."""

    value: Any
    where: str
    line: int | None = None


class _Reader:
    """Turns located values into checks, raising errors that name the place."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: _Node, message: str) -> InvalidInputError:
        return InvalidInputError(f"{self.source} {node.where}: {message}", details={"line": node.line})

    def mapping(self, node: _Node, what: str) -> dict[str, _Node]:
        if not isinstance(node.value, dict):
            raise self.fail(node, f"{what} must be a mapping, got {_kind(node.value)}")
        return node.value

    def text(self, node: _Node, what: str) -> str:
        if not isinstance(node.value, str) or not node.value.strip():
            raise self.fail(node, f"{what} must be a non-empty string, got {_kind(node.value)}")
        return node.value

    def number(self, node: _Node, what: str) -> float | int:
        if (
            isinstance(node.value, bool)
            or not isinstance(node.value, int | float)
            or node.value != node.value
        ):
            raise self.fail(node, f"{what} must be a number, got {_kind(node.value)}")
        return node.value

    def keys(self, args: dict[str, _Node], node: _Node, allowed: tuple[str, ...], what: str) -> None:
        for key, value in args.items():
            if key not in allowed:
                raise self.fail(value, f"unknown argument {key!r} of {what}; allowed: {', '.join(allowed)}")
        if not args:
            raise self.fail(node, f"{what} needs arguments: {', '.join(allowed)}")

    def mostly(self, args: dict[str, _Node]) -> float:
        node = args.get("mostly")
        if node is None:
            return 1.0
        value = self.number(node, "mostly")
        if not 0 <= value <= 1:
            raise self.fail(node, f"mostly must be between 0 and 1, got {value}")
        return float(value)

    def flag_or_mostly(self, node: _Node, kind: str) -> float:
        """``true`` or ``{mostly: x}`` (not_null, unique)."""
        if node.value is True:
            return 1.0
        if not isinstance(node.value, dict):
            raise self.fail(node, f"{kind} takes true or {{mostly: 0.99}}, got {_kind(node.value)}")
        self.keys(node.value, node, ("mostly",), kind)
        return self.mostly(node.value)

    def value_or_mapping(self, node: _Node, key: str, kind: str) -> tuple[_Node, float]:
        """A bare value, or ``{key: value, mostly: x}`` (in_set, regex, expression)."""
        if not isinstance(node.value, dict):
            return node, 1.0
        self.keys(node.value, node, (key, "mostly"), kind)
        if key not in node.value:
            raise self.fail(node, f"{kind} needs {key!r}")
        return node.value[key], self.mostly(node.value)

    def bound(self, node: _Node | None, what: str) -> Any:
        if node is None or node.value is None:
            return None
        if isinstance(node.value, dt.date):
            return node.value.isoformat()
        if isinstance(node.value, str):
            return self.text(node, what)
        return self.number(node, what)


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}
    return names.get(type(value), f"{type(value).__name__} {value!r}")


# -- one reader per check kind -------------------------------------------------------------


def _dtype(r: _Reader, column: str | None, node: _Node) -> Check:
    name = r.text(node, "dtype")
    if dtype_family(name) is None:
        known = ", ".join(sorted({*DTYPE_FAMILIES, *DTYPE_ALIASES}))
        raise r.fail(node, f"unknown dtype {name!r}; use one of {known} or a DuckDB type like DOUBLE")
    return DType(str(column), name)


def _not_null(r: _Reader, column: str | None, node: _Node) -> Check:
    return NotNull(str(column), r.flag_or_mostly(node, "not_null"))


def _unique(r: _Reader, column: str | None, node: _Node) -> Check:
    return Unique(str(column), r.flag_or_mostly(node, "unique"))


def _between(r: _Reader, column: str | None, node: _Node) -> Check:
    args = r.mapping(node, "between")
    r.keys(args, node, ("min", "max", "mostly"), "between")
    low, high = r.bound(args.get("min"), "min"), r.bound(args.get("max"), "max")
    if low is None and high is None:
        raise r.fail(node, "between needs min, max or both")
    if type(low) is type(high) is not None and low > high:
        raise r.fail(node, f"between has min {low!r} > max {high!r}")
    return Between(str(column), low, high, r.mostly(args))


def _in_set(r: _Reader, column: str | None, node: _Node) -> Check:
    values, mostly = r.value_or_mapping(node, "values", "in_set")
    if not isinstance(values.value, list) or not values.value:
        raise r.fail(values, f"in_set takes a non-empty list of values, got {_kind(values.value)}")
    items = []
    for item in values.value:
        if not isinstance(item.value, str | int | float | bool | dt.date) or item.value != item.value:
            raise r.fail(item, f"in_set values must be strings, numbers or booleans, got {_kind(item.value)}")
        items.append(item.value.isoformat() if isinstance(item.value, dt.date) else item.value)
    return InSet(str(column), tuple(items), mostly)


def _regex(r: _Reader, column: str | None, node: _Node) -> Check:
    pattern_node, mostly = r.value_or_mapping(node, "pattern", "regex")
    pattern = r.text(pattern_node, "regex")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise r.fail(pattern_node, f"bad regex {pattern!r}: {exc}") from None
    return Regex(str(column), pattern, mostly)


def _row_count(r: _Reader, column: str | None, node: _Node) -> Check:
    args = r.mapping(node, "row_count")
    r.keys(args, node, ("min", "max"), "row_count")
    bounds = []
    for key in ("min", "max"):
        value = args.get(key)
        if value is not None and (type(value.value) is not int or value.value < 0):
            raise r.fail(value, f"row_count {key} must be a whole number >= 0, got {_kind(value.value)}")
        bounds.append(None if value is None else value.value)
    if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        raise r.fail(node, f"row_count has min {bounds[0]} > max {bounds[1]}")
    return RowCount(bounds[0], bounds[1])


def _expression(r: _Reader, column: str | None, node: _Node) -> Check:
    sql_node, mostly = r.value_or_mapping(node, "sql", "expression")
    sql = r.text(sql_node, "expression")
    if ";" in sql or _SELECT.search(sql):
        raise r.fail(sql_node, "an expression is one SQL condition on a row: no ';' and no subqueries")
    return Expression(sql, mostly)


def _freshness(r: _Reader, column: str | None, node: _Node) -> Check:
    age = node
    if isinstance(node.value, dict):
        r.keys(node.value, node, ("max_age",), "freshness")
        age = node.value.get("max_age", node)
    try:
        parse_duration(age.value)
    except InvalidInputError as exc:
        raise r.fail(age, exc.message) from None
    text = age.value if isinstance(age.value, str) else f"{age.value}s"
    return Freshness(str(column), text)


def _drift(r: _Reader, column: str | None, node: _Node) -> Check:
    args = r.mapping(node, "drift")
    r.keys(args, node, ("reference", "test", "threshold"), "drift")
    if "reference" not in args:
        raise r.fail(node, "drift needs a reference dataset version, like {reference: name@1}")
    reference = r.text(args["reference"], "drift reference")
    from shipyard.datasets.refs import parse_ref

    try:
        parse_ref(reference)
    except InvalidInputError as exc:
        raise r.fail(args["reference"], exc.message) from None
    test = "psi" if "test" not in args else r.text(args["test"], "drift test")
    if test not in DRIFT_TESTS:
        raise r.fail(args["test"], f"unknown drift test {test!r}; known tests: {', '.join(DRIFT_TESTS)}")
    threshold = None
    if "threshold" in args:
        threshold = float(r.number(args["threshold"], "drift threshold"))
        if threshold <= 0 or (test in ("ks", "chi2") and threshold > 1):
            bounds = "a p-value between 0 and 1" if test in ("ks", "chi2") else "> 0"
            raise r.fail(args["threshold"], f"the {test} threshold must be {bounds}, got {threshold}")
    return Drift(str(column), reference, test, threshold)


_READERS: dict[str, Callable[[_Reader, str | None, _Node], Check]] = {
    "dtype": _dtype,
    "not_null": _not_null,
    "between": _between,
    "in_set": _in_set,
    "regex": _regex,
    "unique": _unique,
    "row_count": _row_count,
    "expression": _expression,
    "freshness": _freshness,
    "drift": _drift,
}
TABLE_CHECKS = ("row_count", "expression")


def _check(r: _Reader, node: _Node) -> Check:
    fields = r.mapping(node, "a check")
    kinds = [key for key in fields if key != "column"]
    unknown = [key for key in kinds if key not in CHECK_TYPES]
    if unknown:
        raise r.fail(fields[unknown[0]], _unknown_check(unknown[0]))
    if len(kinds) != 1:
        found = " and ".join(repr(k) for k in kinds) or "nothing but a column"
        raise r.fail(node, f"a check has exactly one kind, found {found}; write one check per item")
    kind = kinds[0]
    column: str | None = None
    if kind in TABLE_CHECKS:
        if "column" in fields:
            raise r.fail(fields["column"], f"{kind} applies to the whole table: remove 'column'")
    elif "column" not in fields:
        raise r.fail(node, f"{kind} needs a column, like {{column: amount, {kind}: ...}}")
    else:
        column = r.text(fields["column"], "column")
    return replace(_READERS[kind](r, column, fields[kind]), line=node.line)


def _unknown_check(name: str) -> str:
    close = difflib.get_close_matches(name, list(CHECK_TYPES), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown check {name!r}{hint}; known checks: {', '.join(sorted(CHECK_TYPES))}"


def _suite(r: _Reader, root: _Node, default_name: str | None) -> Suite:
    top = r.mapping(root, "a suite")
    for key, value in top.items():
        if key not in ("name", "checks"):
            raise r.fail(value, f"unknown suite key {key!r}; a suite has 'name' and 'checks'")
    if "name" in top:
        name = r.text(top["name"], "name")
    elif default_name:
        name = default_name
    else:
        raise r.fail(root, "a suite needs a name")
    checks = top.get("checks")
    if checks is None or not isinstance(checks.value, list) or not checks.value:
        raise r.fail(checks or root, "a suite needs a non-empty list of checks")
    return Suite(name, [_check(r, item) for item in checks.value], source=r.source)


# -- entry points ------------------------------------------------------------------------


def _from_yaml(node: Any, loader: Any) -> _Node:
    """A located tree from a composed YAML node (keys must be strings and unique)."""
    import yaml

    line = node.start_mark.line + 1
    where = f"line {line}"
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Node] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise InvalidInputError(f"line {key_line}: keys must be strings, got {key!r}")
            if key in out:
                raise InvalidInputError(f"line {key_line}: duplicate key {key!r}")
            out[key] = _from_yaml(value_node, loader)
        return _Node(out, where, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_from_yaml(item, loader) for item in node.value], where, line)
    return _Node(loader.construct_object(node, deep=True), where, line)


def _from_python(value: Any, where: str) -> _Node:
    if isinstance(value, Mapping):
        return _Node({str(k): _from_python(v, f"{where}.{k}") for k, v in value.items()}, where)
    if isinstance(value, list | tuple):
        return _Node([_from_python(v, f"{where}[{i}]") for i, v in enumerate(value)], where)
    return _Node(value, where)


def parse_suite(text: str, source: str = "suite", default_name: str | None = None) -> Suite:
    """A suite from YAML text; errors name ``source`` and the line."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise InvalidInputError("the suite is empty")
            tree = _from_yaml(root, loader)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInputError(f"{source}{where}: not valid YAML: {problem}") from None
    except InvalidInputError as exc:
        raise InvalidInputError(f"{source} {exc.message}") from None
    return _suite(_Reader(source), tree, default_name)


def load_suite_file(path: str | Path) -> Suite:
    """A suite from a YAML file; its name defaults to the file's stem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"suite file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read suite file {str(path)!r}: {exc}") from None
    return parse_suite(text, source=path.name, default_name=path.stem)


def suite_from_dict(data: Mapping[str, Any], source: str = "suite") -> Suite:
    """A suite from Python objects of the YAML shape (``{"name": ..., "checks": [...]}``)."""
    return _suite(_Reader(source), _from_python(dict(data), "at top level"), None)


def as_suite(suite: Suite | Mapping[str, Any] | str | Path) -> Suite:
    """Any way of giving a suite, checked: a :class:`Suite`, a dict, a YAML file path or YAML text.

    A ``str`` is a file path when it ends in ``.yaml``/``.yml`` or names an existing file.
    """
    if isinstance(suite, Suite):
        checked = suite_from_dict(suite.to_dict(), suite.source)
        lines = [check.line for check in suite.checks]
        return Suite(suite.name, [replace(c, line=n) for c, n in zip(checked.checks, lines, strict=True)],
                     suite.source)  # fmt: skip
    if isinstance(suite, Mapping):
        return suite_from_dict(suite)
    if (
        isinstance(suite, Path)
        or suite.endswith((".yaml", ".yml"))
        or ("\n" not in suite and Path(suite).is_file())
    ):
        return load_suite_file(suite)
    return parse_suite(suite)


def location(check: Check, suite: Suite) -> str:
    """``suite.yaml line 7`` or ``suite check 'not_null' on 'amount'``: where a check was written."""
    if check.line is not None:
        return f"{suite.source} line {check.line}"
    on = f" on {check.target!r}" if check.target else ""
    return f"{suite.source} check {check.kind!r}{on}"
