"""The filter language: parser, errors, round trips, evaluation and ordering."""

from __future__ import annotations

import contextlib
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.tracking.filters import (
    ATTRIBUTES,
    And,
    Comparison,
    Expr,
    Or,
    OrderBy,
    literal_text,
    parse_filter,
    parse_order_by,
)
from shipyard.tracking.matching import matches, sort_runs
from shipyard.tracking.models import RunRecord, RunStatus

# ---------------------------------------------------------------------------- a renderer for round trips

BARE_KEY = re.compile(r"[A-Za-z0-9_\-./:]+")


def render_key(key: str) -> str:
    if BARE_KEY.fullmatch(key):
        return key
    return "`" + key.replace("\\", "\\\\").replace("`", "\\`") + "`"


def render_literal(value: str | float) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return literal_text(value)


def render(expr: Expr) -> str:
    if isinstance(expr, And | Or):
        word = " and " if isinstance(expr, And) else " or "
        return word.join(
            f"({render(item)})" if isinstance(item, And | Or) else render(item) for item in expr.items
        )
    left = f"{expr.entity}.{render_key(expr.key)} {expr.op} "
    if isinstance(expr.value, tuple):
        return left + "(" + ", ".join(render_literal(v) for v in expr.value) + ")"
    return left + render_literal(expr.value)


# ---------------------------------------------------------------------------- random ASTs

numbers = st.one_of(
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
)
strings = st.text(max_size=8)
keys = st.text(min_size=1, max_size=8)
ORDER_OPS = ("=", "!=", "<", "<=", ">", ">=")


def with_list(op: str, values: st.SearchStrategy[str | float]) -> st.SearchStrategy[object]:
    if op in ("in", "not in"):
        return st.lists(values, min_size=1, max_size=3).map(tuple)
    return values


def comparisons_for(
    entity: str, key_strategy: st.SearchStrategy[str], ops: tuple[str, ...], values: object
) -> object:
    assert isinstance(values, st.SearchStrategy)
    return st.tuples(key_strategy, st.sampled_from(ops)).flatmap(
        lambda ko: with_list(ko[1], values).map(lambda v: Comparison(entity, ko[0], ko[1], v))  # type: ignore[arg-type]
    )


comparisons = st.one_of(
    comparisons_for("metrics", keys, (*ORDER_OPS, "in", "not in"), numbers),
    comparisons_for("params", keys, (*ORDER_OPS, "in", "not in"), st.one_of(strings, numbers)),
    comparisons_for("tags", keys, ("like", "ilike"), strings),
    comparisons_for("tags", keys, (*ORDER_OPS, "in"), strings),
    comparisons_for(
        "attributes", st.sampled_from(["start_time", "end_time"]), ORDER_OPS, st.integers(0, 2**50)
    ),
    comparisons_for(
        "attributes", st.just("status"), ("=", "!=", "in", "not in"), st.sampled_from(list(RunStatus))
    ),
    comparisons_for("attributes", st.sampled_from(["run_name", "run_id"]), ("like", "=", "<"), strings),
)
expressions: st.SearchStrategy[Expr] = st.recursive(
    comparisons,  # type: ignore[arg-type]
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(children, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(expr=expressions)
def test_render_then_parse_round_trips(expr: Expr) -> None:
    assert parse_filter(render(expr)) == expr


# ---------------------------------------------------------------------------- parser


def cmp(entity: str, key: str, op: str, value: object) -> Comparison:
    return Comparison(entity, key, op, value)  # type: ignore[arg-type]


A = "metrics.a > 1"
B = "params.b = 'x'"
C = "tags.c != 'y'"
CA, CB, CC = cmp("metrics", "a", ">", 1), cmp("params", "b", "=", "x"), cmp("tags", "c", "!=", "y")


def test_blank_filter_is_none() -> None:
    assert parse_filter(None) is None
    assert parse_filter("") is None
    assert parse_filter("  \n\t") is None


def test_and_binds_tighter_than_or() -> None:
    assert parse_filter(f"{A} or {B} and {C}") == Or((CA, And((CB, CC))))
    assert parse_filter(f"{A} and {B} or {C}") == Or((And((CA, CB)), CC))


def test_parentheses_group() -> None:
    assert parse_filter(f"({A} or {B}) and {C}") == And((Or((CA, CB)), CC))
    assert parse_filter(f"(({A}))") == CA
    assert parse_filter(f"{A} and {B} and {C}") == And((CA, CB, CC))


def test_keywords_are_case_insensitive() -> None:
    assert parse_filter(f"{A} AND {B} Or {C}") == Or((And((CA, CB)), CC))
    assert parse_filter("params.m NOT IN ('a')") == cmp("params", "m", "not in", ("a",))
    assert parse_filter("params.m LIKE 'a%'") == cmp("params", "m", "like", "a%")
    assert parse_filter("params.m ILike 'a%'") == cmp("params", "m", "ilike", "a%")
    assert parse_order_by("metrics.a DESC, metrics.b ASC") == [
        OrderBy("metrics", "a", True),
        OrderBy("metrics", "b"),
    ]


@pytest.mark.parametrize(
    ("text", "op"),
    [("=", "="), ("==", "="), ("!=", "!="), ("<>", "!="), ("<", "<"), ("<=", "<="), (">", ">"), (">=", ">=")],
)
def test_symbol_operators(text: str, op: str) -> None:
    assert parse_filter(f"metrics.a {text} 2") == cmp("metrics", "a", op, 2)
    assert parse_filter(f"metrics.a{text}2") == cmp("metrics", "a", op, 2)


def test_word_operators() -> None:
    assert parse_filter("params.a in ('x', 2, \"y\")") == cmp("params", "a", "in", ("x", 2, "y"))
    assert parse_filter("metrics.a not in (1,2.5)") == cmp("metrics", "a", "not in", (1, 2.5))
    assert parse_filter("tags.a like '%x_'") == cmp("tags", "a", "like", "%x_")
    assert parse_filter("attributes.run_name ilike 'Ab%'") == cmp("attributes", "run_name", "ilike", "Ab%")


@pytest.mark.parametrize(
    ("alias", "entity"),
    [
        ("metric", "metrics"),
        ("param", "params"),
        ("tag", "tags"),
        ("attribute", "attributes"),
        ("attr", "attributes"),
        ("run", "attributes"),
        ("METRICS", "metrics"),
    ],
)
def test_entity_aliases(alias: str, entity: str) -> None:
    key = "start_time" if entity == "attributes" else "k"
    assert parse_filter(f"{alias}.{key} > 1") == cmp(entity, key, ">", 1)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.`train loss` < 1", "train loss"),
        ('metrics."train loss" < 1', "train loss"),
        ("metrics.train/loss < 1", "train/loss"),
        ("metrics.val.auc < 1", "val.auc"),
        ("metrics.a-b:c_d < 1", "a-b:c_d"),
        ("metrics.`it\\`s` < 1", "it`s"),
        ("metrics.`a\\\\b` < 1", "a\\b"),
    ],
)
def test_keys(text: str, key: str) -> None:
    assert parse_filter(text) == cmp("metrics", key, "<", 1)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("1", 1),
        ("-3", -3),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1.", 1.0),
        ("-2.5e-3", -0.0025),
        ("1E6", 1e6),
        ("1e+2", 100.0),
        ("'it\\'s'", "it's"),
        ('"double"', "double"),
        ("'50\\%'", "50\\%"),
        ("''", ""),
    ],
)
def test_literals(literal: str, value: object) -> None:
    assert parse_filter(f"params.x = {literal}") == cmp("params", "x", "=", value)


def test_integer_literals_stay_integers() -> None:
    parsed = parse_filter("attributes.start_time > 1732300000000123")
    assert isinstance(parsed, Comparison) and parsed.value == 1732300000000123
    assert isinstance(parsed.value, int)


def test_status_values_are_normalised() -> None:
    assert parse_filter("attributes.status = 'FINISHED'") == cmp("attributes", "status", "=", "finished")
    assert parse_filter("attributes.Status like 'fin%'") == cmp("attributes", "status", "like", "fin%")


@pytest.mark.parametrize(
    ("text", "position", "token", "fragment"),
    [
        (
            "params.model >> 'rf'",
            13,
            "'>>'",
            "expected a comparison operator (=, !=, <, <=, >, >=, like, ilike, in",
        ),
        ("metrics.auc >  >= 1", 15, "'>='", "expected a literal"),
        ("metricz.auc > 1", 0, "'metricz.auc'", "unknown entity 'metricz'; expected one of metrics"),
        ("attributes.colour = 'x'", 0, "'attributes.colour'", "status, start_time, end_time, run_name"),
        ("metrics.auc = 'high'", 14, "\"'high'\"", "number"),
        ("metrics.auc like 'x%'", 12, "'like'", "number"),
        ("attributes.start_time = 'x'", 24, "\"'x'\"", "number"),
        ("attributes.run_name = 5", 22, "'5'", "quote"),
        ("params.a like 5", 14, "'5'", "quoted pattern"),
        ("attributes.status = 'done'", 20, "\"'done'\"", "running, finished, failed, killed"),
        ("attributes.status in ('running', 'nope')", 33, "\"'nope'\"", "unknown status"),
        ("metrics.a > nan", 12, "'nan'", "not literals"),
        ("metrics.a > -inf", 12, "'-inf'", "not literals"),
        ("metrics.a > 1e999", 12, "'1e999'", "out of range"),
        ("metrics.a > 1 and", 17, "end of input", "expected entity.key"),
        ("(metrics.a > 1", 14, "end of input", "expected ')'"),
        ("metrics.a > 1)", 13, "')'", "end of the filter"),
        ("metrics.a > 1 metrics.b > 2", 14, "'metrics.b'", "expected 'and', 'or'"),
        ("metrics > 1", 0, "'metrics'", "entity.key"),
        ("metrics. > 1", 9, "'>'", "expected a key"),
        ("metrics.`` > 1", 8, "'``'", "empty key"),
        ("params.a = 'open", 11, '"\'open"', "unterminated"),
        ("params.a in 'x'", 12, "\"'x'\"", "expected '('"),
        ("params.a in ('x' 'y')", 17, "\"'y'\"", "expected ',' or ')'"),
        ("params.a in ()", 13, "')'", "expected a literal"),
        ("params.a = x", 11, "'x'", "expected a literal"),
        ("params.a not like 'x'", 9, "'not'", "comparison operator"),
        ("params.a # 1", 9, "'#'", "unexpected character"),
        ("params.a = 1.2.3", 11, "'1.2.3'", "expected a literal"),
    ],
)
def test_errors_point_at_the_token(text: str, position: int, token: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_filter(text)
    message = caught.value.message
    assert f"at position {position} ({token})" in message
    assert fragment in message
    caret_line = message.splitlines()[-1]
    assert caret_line.index("^") - 2 == position
    assert caught.value.details["position"] == position


def test_unknown_attribute_lists_the_attributes() -> None:
    with pytest.raises(InvalidInputError, match=re.escape(", ".join(ATTRIBUTES))):
        parse_filter("attr.name = 'x'")


def test_deep_nesting_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="nested"):
        parse_filter("(" * 1000 + "metrics.a > 1" + ")" * 1000)
    assert parse_filter("(" * 20 + "metrics.a > 1" + ")" * 20) == cmp("metrics", "a", ">", 1)


def test_huge_integer_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError):
        parse_filter("metrics.a > " + "9" * 5000)


# ---------------------------------------------------------------------------- order_by


def test_parse_order_by_forms() -> None:
    assert parse_order_by(None) == []
    assert parse_order_by("") == []
    assert parse_order_by([]) == []
    assert parse_order_by("metrics.auc desc") == [OrderBy("metrics", "auc", True)]
    assert parse_order_by("attributes.start_time") == [OrderBy("attributes", "start_time")]
    assert parse_order_by(["metrics.`val loss` asc, param.lr desc", "run.run_name"]) == [
        OrderBy("metrics", "val loss"),
        OrderBy("params", "lr", True),
        OrderBy("attributes", "run_name"),
    ]


@pytest.mark.parametrize(
    ("spec", "position", "token"),
    [
        ("metrics.auc up", 12, "'up'"),
        ("metrics.auc desc,", 17, "end of input"),
        ("foo.auc", 0, "'foo.auc'"),
        ("attributes.nope", 0, "'attributes.nope'"),
        ("metrics.auc desc desc", 17, "'desc'"),
    ],
)
def test_parse_order_by_errors(spec: str, position: int, token: str) -> None:
    with pytest.raises(
        InvalidInputError, match=re.escape(f"invalid order_by at position {position} ({token})")
    ):
        parse_order_by(spec)


# ---------------------------------------------------------------------------- fuzz

FILTERISH = st.text(
    alphabet=list("metrics.aparmstg_ `\"'\\()=<>!,0123456789-e.%ANDORandorinotlk"), max_size=60
)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=80), FILTERISH))
def test_parse_filter_only_raises_invalid_input(text: str) -> None:
    with contextlib.suppress(InvalidInputError):
        parse_filter(text)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=60), FILTERISH))
def test_parse_order_by_only_raises_invalid_input(text: str) -> None:
    with contextlib.suppress(InvalidInputError):
        parse_order_by(text)


# ---------------------------------------------------------------------------- evaluation


def run(**overrides: object) -> RunRecord:
    fields: dict[str, object] = {
        "id": "r1",
        "experiment_id": "e1",
        "name": "alpha",
        "status": RunStatus.RUNNING,
        "start_time": 1000,
        "params": {"model": "rf", "depth": "10", "lr": "0.1", "note": "x_y"},
        "tags": {"team": "Vision"},
        "metrics": {"auc": 0.9, "nan": math.nan, "inf": math.inf},
    }
    fields.update(overrides)
    return RunRecord(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.auc > 0.5", True),
        ("metrics.auc in (0.9, 1)", True),
        ("metrics.auc not in (0.9)", False),
        ("metrics.nan = 1", False),
        ("metrics.nan < 1", False),
        ("metrics.nan != 1", True),
        ("metrics.nan not in (1)", True),
        ("metrics.inf > 1e300", True),
        ("metrics.missing != 1", False),
        ("params.missing != 'x'", False),
        ("params.missing not in ('x')", False),
        ("params.depth > 9", True),
        ("params.depth > '9'", False),
        ("params.model > 1", False),
        ("params.depth = 10", True),
        ("params.lr = 0.1", True),
        ("params.lr = 1e-1", True),
        ("params.depth in (10, 'x')", True),
        ("params.note like 'x\\_y'", True),
        ("params.note like 'x\\_'", False),
        ("params.model like 'R%'", False),
        ("params.model ilike 'R%'", True),
        ("tags.team like 'V_sion'", True),
        ("attributes.status = 'running'", True),
        ("attributes.run_name < 'b'", True),
        ("attributes.end_time > 0", False),
        ("attributes.end_time != 5", False),
        ("attributes.start_time = 1000", True),
        ("attributes.run_id = 'r1' and attributes.experiment_id = 'e1'", True),
        ("metrics.auc < 0 or params.model = 'rf'", True),
        ("metrics.auc < 0 or params.model = 'rf' and tags.team = 'x'", False),
    ],
)
def test_matches(text: str, expected: bool) -> None:
    assert matches(parse_filter(text), run()) is expected


def test_matches_none_is_true() -> None:
    assert matches(None, run())


def test_literal_text() -> None:
    assert [literal_text(v) for v in ("a", 5, 0.1, 1e-05, 1000.0)] == ["a", "5", "0.1", "1e-05", "1000.0"]


# ---------------------------------------------------------------------------- ordering


def test_sort_runs_missing_last_both_directions_and_tie_breaks() -> None:
    runs = [
        run(id="a", start_time=1, metrics={"m": 2.0}),
        run(id="b", start_time=2, metrics={}),
        run(id="c", start_time=3, metrics={"m": math.nan}),
        run(id="d", start_time=4, metrics={"m": 1.0}),
        run(id="e", start_time=4, metrics={"m": 1.0}),
        run(id="f", start_time=9, metrics={"m": 1.0}),
    ]
    ids = lambda rs: [r.id for r in rs]  # noqa: E731
    assert ids(sort_runs(runs, [OrderBy("metrics", "m")])) == ["f", "d", "e", "a", "c", "b"]
    assert ids(sort_runs(runs, [OrderBy("metrics", "m", True)])) == ["a", "f", "d", "e", "c", "b"]
    assert ids(sort_runs(runs, [])) == ["f", "d", "e", "c", "b", "a"]


def test_sort_runs_applies_keys_in_order() -> None:
    runs = [
        run(id="a", params={"g": "x"}, metrics={"m": 1.0}),
        run(id="b", params={"g": "y"}, metrics={"m": 3.0}),
        run(id="c", params={"g": "x"}, metrics={"m": 2.0}),
        run(id="d", params={}, metrics={"m": 9.0}),
    ]
    order = [OrderBy("params", "g"), OrderBy("metrics", "m", True)]
    assert [r.id for r in sort_runs(runs, order)] == ["c", "a", "b", "d"]
    assert [r.id for r in sort_runs(runs, [OrderBy("attributes", "end_time")])] == ["a", "b", "c", "d"]
