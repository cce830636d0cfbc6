"""The DuckDB engine: every check against a plain pandas computation of the same thing."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.validation import engine
from shipyard.validation.engine import run_suite
from shipyard.validation.models import (
    Between,
    CheckResult,
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
from shipyard.validation.suite import parse_suite

STRINGS = ["a", "b", "cc", "a@b", "x@y.z", "@", "é"]


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(0, 30))
    xs = draw(st.lists(st.none() | st.integers(-5, 15).map(float), min_size=n, max_size=n))
    ss = draw(st.lists(st.none() | st.sampled_from(STRINGS), min_size=n, max_size=n))
    ks = draw(st.lists(st.none() | st.integers(0, 6), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "x": pd.Series(xs, dtype="float64"),
            "s": pd.Series(ss, dtype="object"),
            "k": pd.Series(ks, dtype="Int64"),
        }
    )


def reference(check: Any, df: pd.DataFrame) -> tuple[int, int]:
    """(failing rows, evaluated rows) computed with pandas."""
    if isinstance(check, NotNull):
        return int(df[check.column].isna().sum()), len(df)
    if isinstance(check, Expression):  # "x <= k": rows where both are known
        known = df[df["x"].notna() & df["k"].notna()]
        return int((known["x"] > known["k"].astype(float)).sum()), len(known)
    values = df[check.column].dropna()
    if isinstance(check, Between):
        bad = pd.Series(False, index=values.index)
        if check.min is not None:
            bad |= values < check.min
        if check.max is not None:
            bad |= values > check.max
        return int(bad.sum()), len(values)
    if isinstance(check, InSet):
        return int((~values.isin(list(check.values))).sum()), len(values)
    if isinstance(check, Regex):
        return int((~values.astype(str).str.fullmatch(check.pattern)).sum()), len(values)
    if isinstance(check, Unique):
        return len(values) - int(values.nunique()), len(values)
    raise AssertionError(check)


def expected_success(failing: int, evaluated: int, mostly: float) -> bool:
    return evaluated == 0 or Fraction(evaluated - failing, evaluated) >= Fraction(mostly)


mostly = st.sampled_from([1.0, 0.9, 0.75, 0.5, 0.0])
bound = st.none() | st.integers(-6, 16)
row_checks = st.one_of(
    st.builds(NotNull, st.sampled_from(["x", "s", "k"]), mostly),
    st.builds(Between, st.just("x"), bound, bound, mostly).filter(
        lambda c: (
            (c.min is not None or c.max is not None) and (c.min is None or c.max is None or c.min <= c.max)
        )
    ),
    st.builds(
        InSet, st.just("s"), st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3).map(tuple), mostly
    ),
    st.builds(Regex, st.just("s"), st.sampled_from(["[a-c]+", ".*@.*", "[^@]+@[^@]+"]), mostly),
    st.builds(Unique, st.sampled_from(["x", "s", "k"]), mostly),
    st.builds(Expression, st.just("x <= k"), mostly),
)


class Recorder:
    """A DuckDB connection that remembers every statement it runs."""

    def __init__(self, con: Any) -> None:
        self.con, self.statements = con, []

    def execute(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return self.con.execute(sql, *args)

    def register(self, name: str, data: Any) -> Any:
        return self.con.register(name, data)

    def close(self) -> None:
        self.con.close()

    @property
    def scans(self) -> list[str]:
        """Statements that read rows of the data (not DESCRIBE, view creation or zero-row binds)."""
        return [
            s
            for s in self.statements
            if "FROM data" in s and "LIMIT 0" not in s and not s.startswith(("DESCRIBE", "CREATE"))
        ]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> list[Recorder]:
    made: list[Recorder] = []
    real = engine._connect

    def connect() -> Recorder:
        made.append(Recorder(real()))
        return made[-1]

    monkeypatch.setattr(engine, "_connect", connect)
    return made


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames(), st.lists(row_checks, min_size=1, max_size=6))
def test_checks_agree_with_pandas_in_one_scan(
    recorder: list[Recorder], df: pd.DataFrame, checks: list[Any]
) -> None:
    recorder.clear()
    results = run_suite(Suite("t", [*checks, RowCount(min=1)]), df)
    for check, result in zip(checks, results, strict=False):
        failing, evaluated = reference(check, df)
        assert (result.failing_rows, result.details["evaluated_rows"]) == (failing, evaluated), check
        assert result.success is expected_success(failing, evaluated, check.mostly), check
        if isinstance(check, Unique):  # the sample shows every row of a duplicated value
            assert bool(result.sample) == bool(failing) and len(result.sample) <= 5
        else:
            assert len(result.sample) == min(failing, 5)
    assert results[-1].observed == len(df) and results[-1].success is (len(df) >= 1)
    failing_checks = sum(1 for r in results[:-1] if r.failing_rows)
    assert len(recorder[0].scans) == 1 + failing_checks


def test_samples_are_failing_rows() -> None:
    df = pd.DataFrame({"x": [float(i) for i in range(100)], "s": ["a"] * 100})
    (result,) = run_suite(Suite("t", [Between("x", max=89.5)]), df)
    assert result.failing_rows == 10 and not result.success
    assert len(result.sample) == 5 and all(row["x"] > 89.5 for row in result.sample)
    assert result.failing_fraction == pytest.approx(0.1) and result.observed == pytest.approx(0.9)
    assert "10 of 100 non-null rows" in result.message


def test_dtype_row_count_and_empty_data() -> None:
    df = pd.DataFrame({"x": pd.Series([], dtype="float64"), "s": pd.Series([], dtype="string")})
    suite = Suite("t", [DType("x", "float"), DType("x", "int"), DType("s", "string"), NotNull("x"),
                        Unique("s"), RowCount(min=1), RowCount(max=0)])  # fmt: skip
    assert [r.success for r in run_suite(suite, df)] == [True, False, True, True, True, False, True]
    assert run_suite(suite, df)[0].observed == "DOUBLE"


def test_freshness() -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    df = pd.DataFrame(
        {"t": [now - dt.timedelta(hours=30), now - dt.timedelta(hours=1), None], "d": [now.date()] * 3}
    )
    results = run_suite(Suite("t", [Freshness("t", "2h"), Freshness("t", "30m"), Freshness("d", "2d")]), df)
    assert [r.success for r in results] == [True, False, True]
    assert results[1].details["age_s"] == pytest.approx(3600, abs=120)


def test_freshness_without_values_fails() -> None:
    df = pd.DataFrame({"t": pd.Series([None, None], dtype="datetime64[ns]")})
    (result,) = run_suite(Suite("t", [Freshness("t", "1d")]), df)
    assert not result.success and "no values" in result.message


def test_files_and_folders(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": [1, 2, 3, 4], "amount": [1.0, 2.0, None, 50.0]})
    df.to_parquet(tmp_path / "one.parquet")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    df.iloc[:2].to_csv(folder / "a.csv", index=False)
    df.iloc[2:].to_csv(folder / "sub" / "b.csv", index=False)
    (folder / "notes.txt").write_text("not a table")
    suite = Suite("t", [Between("amount", 0, 10), Unique("id"), RowCount(min=4, max=4)])
    for data in (tmp_path / "one.parquet", folder):
        results = run_suite(suite, data)
        assert [(r.success, r.failing_rows) for r in results] == [(False, 1), (True, 0), (True, 0)]


def test_bad_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InvalidInputError, match=r"bad\.parquet"):
        run_suite(Suite("t", [RowCount(min=1)]), tmp_path / "bad.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no tabular file"):
        run_suite(Suite("t", [RowCount(min=1)]), tmp_path / "empty")


SCHEMA_ERRORS = [
    ("- {column: amont, not_null: true}", "line 4: column 'amont' does not exist (did you mean 'amount'?)"),
    ("- {column: name, between: {min: 1}}", "line 4: column 'name' is VARCHAR: 1 is not a number"),
    ("- {column: amount, in_set: [a, b]}", "line 4: column 'amount' is DOUBLE: 'a' is not a number"),
    ("- {column: amount, freshness: {max_age: 1d}}", "line 4: freshness needs a DATE or TIMESTAMP column"),
    ("- {expression: 'nope > 1'}", "line 4: cannot be computed on this data"),
    ("- {column: name, regex: '(?=a)b'}", "line 4: cannot be computed on this data"),
    ("- {column: day, between: {min: 'not a date'}}", "line 4: column 'day' is DATE: 'not a date'"),
]


@pytest.mark.parametrize(("check", "message"), SCHEMA_ERRORS)
def test_schema_errors_name_the_line_before_any_scan(
    check: str, message: str, recorder: list[Recorder]
) -> None:
    df = pd.DataFrame({"amount": [1.0], "name": ["x"], "day": [dt.date(2024, 1, 1)]})
    text = f"name: t\nchecks:\n- {{row_count: {{min: 1}}}}\n{check}\n"
    with pytest.raises(InvalidInputError) as info:
        run_suite(parse_suite(text, source="s.yaml"), df)
    assert info.value.message.startswith("s.yaml line 4"), info.value.message
    assert message in info.value.message
    assert recorder[0].scans == []


def test_typed_bounds_and_values() -> None:
    df = pd.DataFrame(
        {"day": pd.to_datetime(["2024-01-01", "2024-03-01"]).date, "flag": [True, False], "code": ["1", "2"]}
    )
    text = """\
name: t
checks:
- {column: day, between: {min: 2024-01-01, max: '2024-02-01'}}
- {column: flag, in_set: [true]}
- {column: code, in_set: [1, 2]}
"""
    results = run_suite(parse_suite(text), df)
    assert [(r.success, r.failing_rows) for r in results] == [(False, 1), (False, 1), (True, 0)]


def test_drift_reads_the_reference(tmp_path: Path, drift_module: Any) -> None:
    pd.DataFrame({"x": [1.0, 2.0, 3.0] * 100}).to_parquet(tmp_path / "ref.parquet")
    asked: list[str] = []

    def reference_path(ref: str) -> Path:
        asked.append(ref)
        return tmp_path / "ref.parquet"

    same = pd.DataFrame({"x": [1.0, 2.0, 3.0] * 50})
    moved = pd.DataFrame({"x": [5.0, 6.0, 7.0] * 50})
    suite = Suite("t", [Drift("x", "ref@1", "ks", 0.2)])
    (ok,) = run_suite(suite, same, reference_path=reference_path)
    (bad,) = run_suite(suite, moved, reference_path=reference_path)
    assert ok.success and not bad.success and asked == ["ref@1", "ref@1"]
    assert bad.details["reference"] == "ref@1" and bad.details["current_rows"] == 150
    with pytest.raises(InvalidInputError, match="column 'y' does not exist in ref@1"):
        run_suite(
            Suite("t", [Drift("y", "ref@1")]), pd.DataFrame({"y": [1.0]}), reference_path=reference_path
        )
    with pytest.raises(InvalidInputError, match="drift needs dataset versions"):
        run_suite(suite, same)


def test_result_round_trips() -> None:
    df = pd.DataFrame({"x": [1.0, None, 3.0]})
    results = run_suite(Suite("t", [NotNull("x"), Between("x", 0, 2)]), df)
    for result in results:
        assert CheckResult.from_dict(result.to_dict()) == result


ids = st.lists(st.none() | st.integers(-3, 12), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ids, min_size=1, max_size=3), st.sampled_from(["int8", "Int32", "Int64", "UInt16"]))
def test_unique_from_parquet_statistics_agrees_with_pandas(
    recorder: list[Recorder], tmp_path_factory: pytest.TempPathFactory, parts: list[list[int | None]],
    dtype: str,
) -> None:  # fmt: skip
    """Integer ``unique`` on Parquet counts distinct values with a bitmap over the footer's range."""
    folder = tmp_path_factory.mktemp("unique")
    frames = []
    for index, values in enumerate(parts):
        if dtype.startswith("U"):  # an unsigned column holds no negative values
            values = [None if v is None else abs(v) for v in values]
        frame = pd.DataFrame({"k": pd.Series(values, dtype="Int64" if None in values else dtype)})
        frame.to_parquet(folder / f"part-{index}.parquet", row_group_size=7)
        frames.append(frame)
    whole = pd.concat(frames, ignore_index=True)
    recorder.clear()
    result, _ = run_suite(Suite("t", [Unique("k"), RowCount(min=0)]), folder)
    failing, evaluated = reference(Unique("k"), whole)
    assert (result.failing_rows, result.details["evaluated_rows"]) == (failing, evaluated)
    assert result.success is (failing == 0) and bool(result.sample) == bool(failing)
    assert len(recorder[0].scans) == 1 + bool(failing)
    if whole["k"].notna().any():
        assert "bitstring_agg" in recorder[0].scans[0]


def test_unique_without_usable_statistics_counts_distinct(tmp_path: Path, recorder: list[Recorder]) -> None:
    pd.DataFrame({"k": [1, 2, 2, 10**15]}).to_parquet(tmp_path / "wide.parquet")  # range too wide
    pd.DataFrame({"k": [1, 2, 2, 3]}).to_csv(tmp_path / "k.csv", index=False)  # no footer
    for path in (tmp_path / "wide.parquet", tmp_path / "k.csv"):
        recorder.clear()
        (result,) = run_suite(Suite("t", [Unique("k")]), path)
        assert result.failing_rows == 1 and "count(DISTINCT" in recorder[0].scans[0]


def test_unique_survives_wrong_statistics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A value outside the footer's bounds (a writer's bad statistics) falls back to DISTINCT."""
    from shipyard.validation import sources

    pd.DataFrame({"k": [1, 2, 2, 9]}).to_parquet(tmp_path / "k.parquet")
    monkeypatch.setattr(sources, "integer_ranges", lambda con, files, columns: {"k": (1, 3, 4)})
    (result,) = run_suite(Suite("t", [Unique("k")]), tmp_path / "k.parquet")
    assert (result.failing_rows, result.details["evaluated_rows"]) == (1, 4)


LIKE_PATTERNS = ["^[^@]+@[^@]+$", "[^@]+@[^@]+", "[^@]*@[^@]*", "a[^%]*%b", "[^_]+_[^_]+_x", "^x\\.[^.]+$",
                 "[^@]+@@[^@]+", "é[^@]+"]  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(LIKE_PATTERNS),
    st.lists(st.text(alphabet="a@%_.x\né\\b", max_size=8), min_size=1, max_size=20),
)
def test_regex_as_like_agrees_with_re2(pattern: str, texts: list[str]) -> None:
    import duckdb

    from shipyard.validation.sources import literal

    condition = engine.like_condition("s", pattern)
    assert condition is not None, pattern
    con = duckdb.connect()
    con.execute("CREATE TABLE t (s VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[t] for t in texts])
    got = con.execute(f"SELECT {condition}, regexp_full_match(s, {literal(pattern)}) FROM t").fetchall()
    assert all(like == regex for like, regex in got), (pattern, texts, got)


@pytest.mark.parametrize(
    "pattern", ["a.c", "[^@]+@[^.]+", "[a-c]+", "(?i)[^@]+", "[^@]+|x", "\\d[^@]+", "[^@]?", "[^\\n]+"]
)
def test_other_regexes_stay_regexes(pattern: str) -> None:
    assert engine.like_condition("s", pattern) is None
