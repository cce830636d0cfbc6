"""Suite parsing: the issue's example, every error with its line, and YAML round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.validation.models import (
    Between,
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
from shipyard.validation.suite import as_suite, load_suite_file, parse_duration, parse_suite, suite_from_dict

EXAMPLE = """\
name: transactions
checks:
  - {column: amount, dtype: float}
  - {column: amount, not_null: {mostly: 0.99}}
  - {column: amount, between: {min: 0, max: 10000}}
  - {column: merchant, in_set: [grocery, travel, online]}
  - {column: email, regex: '^[^@]+@[^@]+$'}
  - {column: id, unique: true}
  - {row_count: {min: 1000, max: 10000000}}
  - {expression: "refund_amount <= amount"}          # DuckDB SQL that must hold per row
  - {column: event_time, freshness: {max_age: 2d}}
  - {column: amount, drift: {reference: transactions@1, test: psi, threshold: 0.2}}
"""


def test_the_issue_example_parses_with_lines() -> None:
    suite = parse_suite(EXAMPLE, source="suite.yaml")
    assert suite.name == "transactions"
    assert list(suite.checks) == [
        DType("amount", "float"),
        NotNull("amount", 0.99),
        Between("amount", 0, 10000),
        InSet("merchant", ("grocery", "travel", "online")),
        Regex("email", "^[^@]+@[^@]+$"),
        Unique("id"),
        RowCount(1000, 10_000_000),
        Expression("refund_amount <= amount"),
        Freshness("event_time", "2d"),
        Drift("amount", "transactions@1", "psi", 0.2),
    ]
    assert [c.line for c in suite.checks] == list(range(3, 13))


def test_long_forms_and_mostly_everywhere() -> None:
    text = """\
name: t
checks:
  - {column: a, in_set: {values: [1, 2], mostly: 0.5}}
  - {column: a, regex: {pattern: 'x+', mostly: 0.5}}
  - {column: a, unique: {mostly: 0.5}}
  - {expression: {sql: "a > 0", mostly: 0.5}}
  - {column: a, between: {max: 3, mostly: 0.5}}
  - {column: t, freshness: 3600}
"""
    checks = parse_suite(text).checks
    assert [getattr(c, "mostly", None) for c in checks] == [0.5] * 5 + [None]
    assert checks[5] == Freshness("t", "3600s")


ERRORS = [
    ("- {column: a, not_nul: true}", "line 3: unknown check 'not_nul' (did you mean 'not_null'?)"),
    ("- {column: a, not_null: 5}", "line 3: not_null takes true or {mostly: 0.99}"),
    ("- {column: a, between: {min: [1]}}", "line 3: min must be a number"),
    ("- {column: a, between: {min: 5, max: 1}}", "line 3: between has min 5 > max 1"),
    ("- {column: a, between: {}}", "line 3: between needs arguments"),
    ("- {column: a, between: {low: 1}}", "line 3: unknown argument 'low' of between"),
    ("- column: a\n  regex: '('", "line 4: bad regex '('"),
    ("- {column: a, in_set: []}", "line 3: in_set takes a non-empty list"),
    ("- {column: a, unique: {mostly: 1.5}}", "line 3: mostly must be between 0 and 1"),
    ("- {column: a, unique: {mostly: yes}}", "line 3: mostly must be a number"),
    ("- {column: a, freshness: {max_age: 2x}}", "line 3: bad duration '2x'"),
    ("- {column: a, drift: {reference: d@1, test: nope}}", "line 3: unknown drift test 'nope'"),
    ("- {column: a, drift: {reference: 'd@x'}}", "line 3: invalid dataset reference 'd@x'"),
    ("- {column: a, drift: {test: psi}}", "line 3: drift needs a reference"),
    ("- {column: a, drift: {reference: d@1, test: ks, threshold: 5}}", "line 3: the ks threshold must be"),
    ("- {row_count: {min: -1}}", "line 3: row_count min must be a whole number"),
    ("- {column: a, row_count: {min: 1}}", "line 3: row_count applies to the whole table"),
    ("- {not_null: true}", "line 3: not_null needs a column"),
    ("- {column: a, not_null: true, unique: true}", "line 3: a check has exactly one kind"),
    ("- {column: a}", "line 3: a check has exactly one kind, found nothing but a column"),
    ("- {expression: 'a > (select 1)'}", "line 3: an expression is one SQL condition"),
    ("- {column: a, dtype: floaty}", "line 3: unknown dtype 'floaty'"),
    ("- {column: 7, not_null: true}", "line 3: column must be a non-empty string"),
    ("- {column: a, not_null: true, column: b}", "line 3: duplicate key 'column'"),
    ("- {column: a, not_null: [}", "not valid YAML"),
    ("- 5", "line 3: a check must be a mapping"),
]


@pytest.mark.parametrize(("check", "message"), ERRORS)
def test_errors_name_the_line(check: str, message: str) -> None:
    text = "name: t\nchecks:\n" + check + "\n"
    with pytest.raises(InvalidInputError) as info:
        parse_suite(text, source="suite.yaml")
    assert info.value.message.startswith("suite.yaml"), info.value.message
    assert message in info.value.message


def test_error_on_a_later_line() -> None:
    text = EXAMPLE.replace("not_null: {mostly: 0.99}", "not_null: {mostly: 2}")
    with pytest.raises(InvalidInputError, match=r"^suite.yaml line 4: mostly must be between 0 and 1"):
        parse_suite(text, source="suite.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the suite is empty"),
        ("- a", "a suite must be a mapping"),
        ("name: t\n", "a suite needs a non-empty list of checks"),
        ("name: t\nchecks: []\n", "a suite needs a non-empty list of checks"),
        ("name: t\nextra: 1\nchecks: [{row_count: {min: 1}}]\n", "line 2: unknown suite key 'extra'"),
        ("checks: [{row_count: {min: 1}}]\n", "a suite needs a name"),
    ],
)
def test_suite_level_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_suite(text)


def test_files_and_default_name(tmp_path: Path) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text("checks:\n  - {row_count: {min: 1}}\n")
    suite = load_suite_file(path)
    assert (suite.name, suite.source) == ("orders", "orders.yaml")
    assert as_suite(str(path)) == suite
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_suite_file(tmp_path / "missing.yaml")


def test_python_objects_are_checked_with_their_path() -> None:
    suite = suite_from_dict({"name": "t", "checks": [{"column": "a", "between": {"min": "x", "max": None}}]})
    assert suite.checks[0] == Between("a", "x", None)
    with pytest.raises(InvalidInputError, match=r"checks\[0\]\.unique: unique takes true"):
        suite_from_dict({"name": "t", "checks": [{"column": "a", "unique": "yes"}]})
    with pytest.raises(InvalidInputError, match="bad regex"):
        as_suite(Suite("t", [Regex("a", "(")]))
    assert as_suite({"name": "t", "checks": [{"row_count": {"max": 3}}]}).checks == (RowCount(None, 3),)


def test_digest_depends_on_checks_only() -> None:
    a = parse_suite(EXAMPLE)
    b = Suite("other", a.checks)
    assert a.digest == b.digest and a.digest.startswith("sha256:")
    assert Suite("x", a.checks[:-1]).digest != a.digest
    assert parse_suite(yaml.safe_dump(a.to_dict())).digest == a.digest


def test_drift_tests_are_the_stats_ones() -> None:
    from shipyard.stats.drift import DRIFT_TESTS as STATS_TESTS
    from shipyard.validation.suite import DRIFT_TESTS

    assert tuple(DRIFT_TESTS) == tuple(STATS_TESTS)


def test_durations() -> None:
    assert [parse_duration(x) for x in ("1s", "2m", "3h", "1.5d", "1w")] == [1, 120, 10800, 129600, 604800]
    with pytest.raises(InvalidInputError):
        parse_duration("2 days")


# -- hypothesis: random valid suites round-trip through YAML ---------------------------------

names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
mostly = st.sampled_from([1.0, 0.5, 0.99, 0.0])
numbers = st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3))
scalars = names | st.integers(-5, 5) | st.booleans()
checks = st.one_of(
    st.builds(DType, names, st.sampled_from(["int", "float", "string", "DOUBLE", "timestamp"])),
    st.builds(NotNull, names, mostly),
    st.builds(Between, names, numbers, st.none() | numbers, mostly).filter(
        lambda c: c.max is None or c.min <= c.max
    ),
    st.builds(InSet, names, st.lists(scalars, min_size=1, max_size=4).map(tuple), mostly),
    st.builds(Regex, names, st.sampled_from(["^a+$", "[0-9]{3}", ".*@.*"]), mostly),
    st.builds(Unique, names, mostly),
    st.builds(RowCount, st.integers(0, 10), st.none() | st.integers(10, 10**9)),
    st.builds(Expression, st.sampled_from(["a <= b", "coalesce(x, 0) > 1"]), mostly),
    st.builds(Freshness, names, st.sampled_from(["2d", "90s", "1.5h"])),
    st.builds(
        Drift,
        names,
        st.sampled_from(["ref@1", "ref"]),
        st.sampled_from(["psi", "ks", "chi2"]),
        st.none() | st.floats(0.01, 1.0),
    ),
)


@settings(max_examples=150, deadline=None)
@given(names, st.lists(checks, min_size=1, max_size=8))
def test_random_suites_round_trip(name: str, items: list[Any]) -> None:
    suite = Suite(name, items)
    text = yaml.safe_dump(suite.to_dict(), sort_keys=False)
    parsed = parse_suite(text)
    assert parsed == suite
    assert parsed.to_dict() == suite.to_dict()
    assert parsed.digest == suite.digest
