"""The contract every :class:`TrackingStore` backend passes unchanged.

A backend's test module subclasses :class:`TrackingStoreContract` and provides a
``store`` fixture yielding an *empty* store. Only the public ``TrackingStore`` API is
used here, so memory, SQLite, PostgreSQL and REST run the very same tests.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.storage.digests import digest_bytes
from shipyard.tracking.filters import And, Comparison, Expr, Or, OrderBy, parse_filter, parse_order_by
from shipyard.tracking.models import Artifact, CompletedRun, RunInput, RunRecord, RunStatus
from shipyard.tracking.store.base import MetricRow, TrackingStore

# Each backend subclass runs the same hypothesis tests on its own store, which is
# exactly the "differing executors" hypothesis warns about: here it is the point.
CONTRACT_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)


def same_float(a: float, b: float) -> bool:
    """Equality in which NaN equals NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def make_experiment(store: TrackingStore, created_at: int = 1) -> str:
    experiment_id = new_id()
    store.create_experiment(experiment_id, f"exp-{experiment_id}", created_at)
    return experiment_id


def make_run(store: TrackingStore, experiment_id: str, name: str = "run", start_time: int = 1000) -> str:
    run_id = new_id()
    store.create_run(run_id, experiment_id, name, start_time)
    return run_id


@dataclass
class RunSpec:
    """What the search fixtures put into a run."""

    name: str
    start_time: int
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    status: RunStatus = RunStatus.RUNNING
    end_time: int | None = None


def add_run(store: TrackingStore, experiment_id: str, spec: RunSpec) -> str:
    run_id = new_id()
    store.create_run(run_id, experiment_id, spec.name, spec.start_time, tags=spec.tags)
    store.log_params(run_id, spec.params)
    rows: list[MetricRow] = [(key, value, 0, spec.start_time) for key, value in spec.metrics.items()]
    store.log_metrics(run_id, rows)
    if spec.status.is_terminal:
        store.set_run_status(run_id, spec.status, end_time=spec.end_time)
    return run_id


SEARCH_RUNS = [
    RunSpec(
        "alpha",
        1000,
        params={"model": "rf", "depth": "5", "lr": "0.1"},
        tags={"team": "Vision"},
        metrics={"auc": 0.9, "loss": 0.3},
        status=RunStatus.FINISHED,
        end_time=2000,
    ),
    RunSpec(
        "beta",
        2000,
        params={"model": "xgb", "depth": "10"},
        tags={"team": "nlp"},
        metrics={"auc": 0.7, "loss": math.nan},
        status=RunStatus.FAILED,
        end_time=3000,
    ),
    RunSpec("gamma", 3000, params={"model": "rf_v2", "depth": "deep"}, metrics={"auc": 0.95}),
    RunSpec("delta", 4000, tags={"team": "vision"}, metrics={"loss": 0.1}),
]

# filter -> expected run names, in the default order (newest start first)
FILTER_CASES = [
    ("metrics.auc > 0.8", ["gamma", "alpha"]),
    ("metrics.auc >= 0.9", ["gamma", "alpha"]),
    ("metrics.auc < 0.9", ["beta"]),
    ("metrics.auc <= 0.9", ["beta", "alpha"]),
    ("metrics.auc = 0.7", ["beta"]),
    ("metrics.auc == 0.7", ["beta"]),
    ("metrics.auc != 0.7", ["gamma", "alpha"]),
    ("metrics.loss != 0.3", ["delta", "beta"]),
    ("metrics.loss < 1", ["delta", "alpha"]),
    ("metrics.loss > -1", ["delta", "alpha"]),
    ("metrics.auc in (0.9, 0.95)", ["gamma", "alpha"]),
    ("metrics.auc not in (0.9)", ["gamma", "beta"]),
    ("metrics.loss not in (0.1)", ["beta", "alpha"]),
    ("metrics.missing != 1", []),
    ("params.model = 'rf'", ["alpha"]),
    ("params.model <> 'rf'", ["gamma", "beta"]),
    ("params.model like 'rf%'", ["gamma", "alpha"]),
    ("params.model like 'RF%'", []),
    ("params.model ilike 'RF%'", ["gamma", "alpha"]),
    ("params.model like 'r_'", ["alpha"]),
    ("params.model like '%\\_v_'", ["gamma"]),
    ("params.model in ('rf', 'xgb')", ["beta", "alpha"]),
    ("params.model not in ('rf')", ["gamma", "beta"]),
    ("params.depth > 6", ["beta"]),
    ("params.depth <= 5", ["alpha"]),
    ("params.depth = 5", ["alpha"]),
    ("params.depth > '6'", ["gamma"]),
    ("params.lr = 0.1", ["alpha"]),
    ("params.missing not in ('x')", []),
    ("tags.team = 'vision'", ["delta"]),
    ("tags.team ilike 'VISION'", ["delta", "alpha"]),
    ("tags.team != 'nlp'", ["delta", "alpha"]),
    ("attributes.status = 'running'", ["delta", "gamma"]),
    ("attributes.status != 'running'", ["beta", "alpha"]),
    ("attributes.status in ('finished', 'failed')", ["beta", "alpha"]),
    ("attributes.run_name = 'beta'", ["beta"]),
    ("attributes.run_name like '%ta'", ["delta", "beta"]),
    ("attributes.start_time >= 3000", ["delta", "gamma"]),
    ("attributes.end_time < 2500", ["alpha"]),
    ("attributes.end_time > 0", ["beta", "alpha"]),
    ("attributes.end_time != 2000", ["beta"]),
    ("metrics.auc > 0.8 and params.model = 'rf'", ["alpha"]),
    ("params.model = 'xgb' or tags.team = 'vision'", ["delta", "beta"]),
    ("attributes.status = 'running' or params.model = 'rf' and metrics.auc > 0.95", ["delta", "gamma"]),
    ("(attributes.status = 'running' or params.model = 'rf') and metrics.auc > 0.9", ["gamma"]),
    (
        "(params.model = 'xgb' or metrics.auc > 0.9) and (tags.team = 'nlp' or attributes.end_time = 0)",
        ["beta"],
    ),
]

ORDER_CASES = [
    ("metrics.auc", ["beta", "alpha", "gamma", "delta"]),
    ("metrics.auc asc", ["beta", "alpha", "gamma", "delta"]),
    ("metrics.auc desc", ["gamma", "alpha", "beta", "delta"]),
    ("metrics.loss asc", ["delta", "alpha", "gamma", "beta"]),  # NaN sorts with the missing
    ("metrics.loss desc", ["alpha", "delta", "gamma", "beta"]),
    ("params.model", ["alpha", "gamma", "beta", "delta"]),
    ("params.model desc", ["beta", "gamma", "alpha", "delta"]),
    ("attributes.end_time desc", ["beta", "alpha", "delta", "gamma"]),
    ("attributes.start_time", ["alpha", "beta", "gamma", "delta"]),
    ("attributes.status, metrics.auc desc", ["beta", "alpha", "gamma", "delta"]),
    ("tags.team desc", ["delta", "beta", "alpha", "gamma"]),
]


def run_ids_by_name(store: TrackingStore, experiment_id: str) -> dict[str, str]:
    return {spec.name: add_run(store, experiment_id, spec) for spec in SEARCH_RUNS}


def names(runs: list[RunRecord]) -> list[str]:
    return [run.name for run in runs]


# --------------------------------------------------------------------------- brute force for hypothesis

PARAM_KEYS = ("p0", "p1")
METRIC_KEYS = ("m0", "m1")
TEXT_VALUES = ("a", "ab", "B", "b_c", "10", "2", "-1.5")
PATTERNS = ("a%", "%b", "_", "%", "B%", "%_c", "a_")
METRIC_VALUES = (-1.0, 0.0, 0.5, 2.0, math.nan, math.inf, -math.inf)
NUMBERS = (-1, 0, 0.5, 1, 2)
NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=")

random_runs = st.lists(
    st.builds(
        dict,
        params=st.dictionaries(st.sampled_from(PARAM_KEYS), st.sampled_from(TEXT_VALUES)),
        tags=st.dictionaries(st.just("t0"), st.sampled_from(TEXT_VALUES)),
        metrics=st.dictionaries(st.sampled_from(METRIC_KEYS), st.sampled_from(METRIC_VALUES)),
    ),
    max_size=8,
)
text_entities = st.sampled_from([("params", "p0"), ("params", "p1"), ("params", "nope"), ("tags", "t0")])
metric_keys = st.sampled_from((*METRIC_KEYS, "nope"))
simple_comparisons = st.one_of(
    st.builds(
        Comparison, st.just("metrics"), metric_keys, st.sampled_from(NUMBER_OPS), st.sampled_from(NUMBERS)
    ),
    st.builds(
        Comparison,
        st.just("metrics"),
        metric_keys,
        st.sampled_from(("in", "not in")),
        st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3).map(tuple),
    ),
    text_entities.flatmap(
        lambda ek: st.one_of(
            st.builds(
                Comparison,
                st.just(ek[0]),
                st.just(ek[1]),
                st.sampled_from(NUMBER_OPS),
                st.sampled_from(TEXT_VALUES),
            ),
            st.builds(
                Comparison,
                st.just(ek[0]),
                st.just(ek[1]),
                st.sampled_from((">", "<=")),
                st.sampled_from(NUMBERS),
            ),
            st.builds(
                Comparison,
                st.just(ek[0]),
                st.just(ek[1]),
                st.sampled_from(("like", "ilike")),
                st.sampled_from(PATTERNS),
            ),
            st.builds(
                Comparison,
                st.just(ek[0]),
                st.just(ek[1]),
                st.sampled_from(("in", "not in")),
                st.lists(st.sampled_from(TEXT_VALUES), min_size=1, max_size=3).map(tuple),
            ),
        )
    ),
)
random_filters: st.SearchStrategy[Expr] = st.recursive(
    simple_comparisons,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(children, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    ),
    max_leaves=4,
)


def brute_like(value: str, pattern: str, fold: bool) -> bool:
    if fold:
        value, pattern = value.lower(), pattern.lower()
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def brute_number(actual: float, op: str, value: object) -> bool:
    listed = value if isinstance(value, tuple) else (value,)
    if op == "in":
        return any(actual == v for v in listed)
    if op == "not in":
        return math.isnan(actual) or all(actual != v for v in listed)
    if math.isnan(actual):
        return op == "!="
    assert isinstance(value, int | float)
    return {
        "=": actual == value,
        "!=": actual != value,
        "<": actual < value,
        "<=": actual <= value,
        ">": actual > value,
        ">=": actual >= value,
    }[op]


def brute_text(actual: str, op: str, value: object) -> bool:
    if op in ("like", "ilike"):
        return brute_like(actual, str(value), op == "ilike")
    if op in ("in", "not in"):
        assert isinstance(value, tuple)
        return (actual in value) == (op == "in")
    if isinstance(value, str):
        return {
            "=": actual == value,
            "!=": actual != value,
            "<": actual < value,
            "<=": actual <= value,
            ">": actual > value,
            ">=": actual >= value,
        }[op]
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", actual) is None:
        return False
    return brute_number(float(actual), op, value)


def brute_matches(expr: Expr, run: dict[str, dict[str, object]]) -> bool:
    if isinstance(expr, And):
        return all(brute_matches(item, run) for item in expr.items)
    if isinstance(expr, Or):
        return any(brute_matches(item, run) for item in expr.items)
    source = run[expr.entity]
    if expr.key not in source:
        return False
    actual = source[expr.key]
    if isinstance(actual, float):
        return brute_number(actual, expr.op, expr.value)
    assert isinstance(actual, str)
    return brute_text(actual, expr.op, expr.value)


metric_batches = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(("loss", "train/loss")),
            st.floats(),
            st.one_of(st.integers(0, 3), st.integers(-(2**40), 2**40)),
            st.one_of(st.integers(0, 3), st.integers(0, 2**45)),
        ),
        max_size=20,
    ),
    min_size=1,
    max_size=4,
)


# --------------------------------------------------------------------------- the contract


class TrackingStoreContract:
    """Tests every TrackingStore must pass; subclasses provide an empty ``store`` fixture.

    Artifact records name content by digest; ``stored_digest`` turns bytes into the
    digest of content the backend holds. Stores that do not look at content use the
    plain digest; a backend that checks the content exists (REST, through the
    server's service) overrides it to upload the bytes first.
    """

    @pytest.fixture
    def stored_digest(self) -> Callable[[bytes], str]:
        return digest_bytes

    # ---------------------------------------------------------------- experiments

    def test_create_and_get_experiment(self, store: TrackingStore) -> None:
        experiment_id = new_id()
        created = store.create_experiment(experiment_id, "churn", 123, tags={"team": "ml"})
        assert (created.id, created.name, created.created_at, created.tags) == (
            experiment_id,
            "churn",
            123,
            {"team": "ml"},
        )
        assert store.get_experiment(experiment_id) == created

    def test_duplicate_experiment_name_raises_already_exists(self, store: TrackingStore) -> None:
        store.create_experiment(new_id(), "churn", 1)
        with pytest.raises(AlreadyExistsError, match="churn"):
            store.create_experiment(new_id(), "churn", 2)

    def test_get_unknown_experiment_raises_not_found(self, store: TrackingStore) -> None:
        missing = new_id()
        with pytest.raises(NotFoundError, match=missing):
            store.get_experiment(missing)

    def test_find_experiment_by_name(self, store: TrackingStore) -> None:
        experiment_id = new_id()
        store.create_experiment(experiment_id, "churn", 1)
        found = store.find_experiment_by_name("churn")
        assert found is not None and found.id == experiment_id
        assert store.find_experiment_by_name("nope") is None

    def test_list_experiments_oldest_first_with_pagination(self, store: TrackingStore) -> None:
        ids = [new_id() for _ in range(5)]
        for created_at, experiment_id in reversed(list(enumerate(ids))):
            store.create_experiment(experiment_id, f"exp-{created_at}", created_at * 10)
        assert [e.id for e in store.list_experiments()] == ids
        assert [e.id for e in store.list_experiments(limit=2, offset=1)] == ids[1:3]
        assert store.list_experiments(limit=10, offset=5) == []

    # ---------------------------------------------------------------- runs

    def test_create_and_get_run(self, store: TrackingStore) -> None:
        experiment_id = make_experiment(store)
        run_id = new_id()
        lineage = {"git": {"commit": "abc"}, "inputs": ["d1", "d2"]}
        created = store.create_run(run_id, experiment_id, "first", 1000, tags={"a": "b"}, lineage=lineage)
        fetched = store.get_run(run_id)
        assert created == fetched
        assert (fetched.id, fetched.experiment_id, fetched.name) == (run_id, experiment_id, "first")
        assert fetched.status is RunStatus.RUNNING
        assert (fetched.start_time, fetched.end_time, fetched.heartbeat_at, fetched.error) == (
            1000,
            None,
            None,
            None,
        )
        assert (fetched.tags, fetched.lineage, fetched.params, fetched.metrics) == (
            {"a": "b"},
            lineage,
            {},
            {},
        )

    def test_create_run_in_unknown_experiment_raises_not_found(self, store: TrackingStore) -> None:
        missing = new_id()
        with pytest.raises(NotFoundError, match=missing):
            store.create_run(new_id(), missing, "x", 1)

    def test_records_are_snapshots(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        store.log_params(run_id, {"a": "1"})
        record = store.get_run(run_id)
        record.params["a"] = "changed"
        record.tags["new"] = "x"
        assert store.get_run(run_id).params == {"a": "1"}
        assert store.get_run(run_id).tags == {}

    @pytest.mark.parametrize("status", [RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED])
    def test_set_run_status_ends_run(self, store: TrackingStore, status: RunStatus) -> None:
        run_id = make_run(store, make_experiment(store))
        error = "boom" if status is RunStatus.FAILED else None
        ended = store.set_run_status(run_id, status, end_time=2000, error=error)
        assert (ended.status, ended.end_time, ended.error) == (status, 2000, error)
        assert store.get_run(run_id) == ended

    @pytest.mark.parametrize("status", [RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED])
    def test_set_run_status_on_ended_run_conflicts(self, store: TrackingStore, status: RunStatus) -> None:
        run_id = make_run(store, make_experiment(store))
        store.set_run_status(run_id, status, end_time=2000)
        with pytest.raises(ConflictError):
            store.set_run_status(run_id, RunStatus.FINISHED, end_time=3000)
        assert store.get_run(run_id).status is status
        assert store.get_run(run_id).end_time == 2000

    def test_heartbeat_and_stale_runs(self, store: TrackingStore) -> None:
        experiment_id = make_experiment(store)
        quiet = make_run(store, experiment_id, "quiet", start_time=100)
        beating = make_run(store, experiment_id, "beating", start_time=100)
        ended = make_run(store, experiment_id, "ended", start_time=100)
        late = make_run(store, experiment_id, "late", start_time=400)
        store.heartbeat(beating, 500)
        store.set_run_status(ended, RunStatus.FINISHED, end_time=150)
        assert store.get_run(beating).heartbeat_at == 500

        def stale(before: int) -> set[str]:
            return {run.id for run in store.find_stale_runs(before)}

        assert stale(100) == set()
        assert stale(300) == {quiet}
        assert stale(500) == {quiet, late}
        assert stale(501) == {quiet, beating, late}

    # ---------------------------------------------------------------- params and tags

    def test_log_params_round_trip_and_same_value_is_noop(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        store.log_params(run_id, {"lr": "0.1", "model": "rf"})
        store.log_params(run_id, {"lr": "0.1", "depth": "5"})
        store.log_params(run_id, {})
        assert store.get_run(run_id).params == {"lr": "0.1", "model": "rf", "depth": "5"}

    def test_log_params_conflict_raises_and_writes_nothing(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        store.log_params(run_id, {"lr": "0.1"})
        with pytest.raises(ConflictError) as caught:
            store.log_params(run_id, {"batch": "32", "lr": "0.2", "zeta": "z"})
        message = str(caught.value)
        assert "lr" in message and "0.1" in message and "0.2" in message
        assert store.get_run(run_id).params == {"lr": "0.1"}

    def test_set_tags_adds_and_overwrites(self, store: TrackingStore) -> None:
        experiment_id = make_experiment(store)
        run_id = new_id()
        store.create_run(run_id, experiment_id, "r", 1, tags={"a": "1", "b": "2"})
        store.set_tags(run_id, {"b": "3", "c": "4"})
        assert store.get_run(run_id).tags == {"a": "1", "b": "3", "c": "4"}

    # ---------------------------------------------------------------- metrics

    def test_metric_history_in_step_timestamp_insertion_order(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        store.log_metrics(run_id, [("loss", 3.0, 2, 10), ("loss", 1.0, 1, 50), ("acc", 0.5, 0, 1)])
        store.log_metrics(run_id, [("loss", 2.0, 1, 20), ("loss", 4.0, 2, 10), ("loss", 0.0, 0, 99)])
        history = store.get_metric_history(run_id, "loss")
        assert history.key == "loss"
        assert history.steps == [0, 1, 1, 2, 2]
        assert history.timestamps == [99, 20, 50, 10, 10]
        assert history.values == [0.0, 2.0, 1.0, 3.0, 4.0]
        assert len(history) == 5
        assert store.get_metric_history(run_id, "acc").values == [0.5]

    def test_unknown_metric_key_has_empty_history(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        history = store.get_metric_history(run_id, "never")
        assert (history.key, history.steps, history.values, history.timestamps) == ("never", [], [], [])

    def test_latest_metric_is_greatest_step_then_timestamp(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        store.log_metrics(run_id, [("loss", 0.5, 5, 100), ("acc", 0.1, 1, 100), ("acc", 0.2, 1, 300)])
        store.log_metrics(run_id, [("loss", 0.9, 1, 999), ("acc", 0.15, 1, 200)])
        assert store.get_run(run_id).metrics == {"loss": 0.5, "acc": 0.2}

    def test_non_finite_metrics_round_trip(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        store.log_metrics(
            run_id,
            [
                ("nan", math.nan, 0, 1),
                ("pinf", math.inf, 0, 1),
                ("ninf", -math.inf, 0, 1),
                ("mix", math.nan, 0, 1),
            ],
        )
        store.log_metrics(run_id, [("mix", math.inf, 1, 1), ("mix", -math.inf, 2, 1)])
        latest = store.get_run(run_id).metrics
        assert math.isnan(latest["nan"])
        assert (latest["pinf"], latest["ninf"], latest["mix"]) == (math.inf, -math.inf, -math.inf)
        values = store.get_metric_history(run_id, "mix").values
        assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]
        assert math.isnan(store.get_metric_history(run_id, "nan").values[0])

    def test_log_metrics_empty_batch_is_noop(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        store.log_metrics(run_id, [])
        assert store.get_run(run_id).metrics == {}

    def test_five_thousand_point_history_round_trip(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        rows: list[MetricRow] = [
            ("loss", 1.0 / (step + 1), step, 1_700_000_000_000 + step) for step in range(5000)
        ]
        for start in range(0, 5000, 1000):
            store.log_metrics(run_id, rows[start : start + 1000])
        history = store.get_metric_history(run_id, "loss")
        assert history.steps == list(range(5000))
        assert history.values == [row[1] for row in rows]
        assert history.timestamps == [row[3] for row in rows]
        assert store.get_run(run_id).metrics == {"loss": 1.0 / 5000}

    @CONTRACT_SETTINGS
    @given(batches=metric_batches)
    def test_metric_batches_round_trip_exactly(
        self, store: TrackingStore, batches: list[list[MetricRow]]
    ) -> None:
        run_id = make_run(store, make_experiment(store))
        for batch in batches:
            store.log_metrics(run_id, batch)
        logged = [row for batch in batches for row in batch]
        latest = store.get_run(run_id).metrics
        for key in ("loss", "train/loss"):
            expected = sorted((row for row in logged if row[0] == key), key=lambda row: (row[2], row[3]))
            history = store.get_metric_history(run_id, key)
            assert history.steps == [row[2] for row in expected]
            assert history.timestamps == [row[3] for row in expected]
            assert len(history.values) == len(expected)
            assert all(same_float(a, row[1]) for a, row in zip(history.values, expected, strict=True))
            if expected:
                top = max((row[2], row[3]) for row in expected)
                assert any(same_float(latest[key], row[1]) for row in expected if (row[2], row[3]) == top)
            else:
                assert key not in latest

    # ---------------------------------------------------------------- inputs

    def test_artifact_digests_cover_every_run(
        self, store: TrackingStore, stored_digest: Callable[[bytes], str]
    ) -> None:
        experiment_id = make_experiment(store)
        first, second = make_run(store, experiment_id, "a"), make_run(store, experiment_id, "b")
        d1, d2 = stored_digest(b"one"), stored_digest(b"two")
        store.log_artifacts(first, [Artifact("x", d1, 3)])
        store.log_artifacts(second, [Artifact("y", d2, 3), Artifact("z", d1, 3)])
        assert store.artifact_digests() == {d1, d2}

    def test_inputs_are_recorded_once_and_listed_in_order(self, store: TrackingStore) -> None:
        run_id = make_run(store, make_experiment(store))
        digest = "blake3:" + "ab" * 32
        first = [
            RunInput("dataset", "tx@2", digest, "training", 5),
            RunInput("dataset", "tx@1", digest, "validation", 6),
        ]
        store.log_inputs(run_id, first)
        store.log_inputs(run_id, [RunInput("dataset", "tx@2", "blake3:" + "cd" * 32, "training", 9)])
        assert store.list_inputs(run_id) == [first[1], first[0]], "the first record of an input wins"
        assert store.list_inputs(make_run(store, make_experiment(store, 2))) == []

    def test_inputs_of_unknown_run_are_not_found(self, store: TrackingStore) -> None:
        with pytest.raises(NotFoundError):
            store.log_inputs(new_id(), [RunInput("dataset", "x@1", "blake3:" + "00" * 32, "training", 1)])
        with pytest.raises(NotFoundError):
            store.list_inputs(new_id())

    # ---------------------------------------------------------------- runs recorded after the fact

    def test_record_runs_keeps_everything_each_run_logged(
        self, store: TrackingStore, stored_digest: Callable[[bytes], str]
    ) -> None:
        experiment_id = make_experiment(store)
        out, inp = stored_digest(b"output"), stored_digest(b"input")
        done = CompletedRun(
            new_id(),
            "train",
            RunStatus.FINISHED,
            1000,
            1500,
            params={"lr": "0.1"},
            tags={"shipyard.step": "m.train"},
            artifacts=(Artifact("outputs/output.json", out, 6),),
            inputs=(RunInput("step_output", "runs:/x/outputs/output.json", inp, "data", 1000),),
        )
        broken = CompletedRun(new_id(), "eval", RunStatus.FAILED, 1600, 1700, error="Traceback ...")
        store.record_runs(experiment_id, [done, broken])
        first, second = store.get_run(done.id), store.get_run(broken.id)
        assert (first.status, first.start_time, first.end_time) == (RunStatus.FINISHED, 1000, 1500)
        assert (first.params, first.tags, first.experiment_id) == (done.params, done.tags, experiment_id)
        assert store.list_artifacts(done.id) == list(done.artifacts)
        assert store.list_inputs(done.id) == list(done.inputs)
        assert (second.status, second.error, second.params) == (RunStatus.FAILED, "Traceback ...", {})
        found = store.search_runs([experiment_id], parse_filter("tags.`shipyard.step` = 'm.train'"), [])
        assert [r.id for r in found] == [done.id]

    def test_record_runs_refuses_an_unknown_experiment_or_a_taken_id(self, store: TrackingStore) -> None:
        run = CompletedRun(new_id(), "a", RunStatus.FINISHED, 1, 2)
        with pytest.raises(NotFoundError):
            store.record_runs(new_id(), [run])
        with pytest.raises(NotFoundError):
            store.get_run(run.id)
        experiment_id = make_experiment(store)
        store.record_runs(experiment_id, [run])
        with pytest.raises(AlreadyExistsError):
            store.record_runs(experiment_id, [run])

    # ---------------------------------------------------------------- artifacts

    def test_artifacts_replace_on_relog(
        self, store: TrackingStore, stored_digest: Callable[[bytes], str]
    ) -> None:
        run_id = make_run(store, make_experiment(store))
        assert store.list_artifacts(run_id) == []
        d1, d2, d3 = (stored_digest(data) for data in (b"1" * 10, b"2" * 20, b"3" * 30))
        store.log_artifacts(run_id, [Artifact("model/model.pkl", d1, 10), Artifact("plots/roc.png", d2, 20)])
        store.log_artifacts(run_id, [Artifact("model/model.pkl", d3, 30)])
        listed = sorted(store.list_artifacts(run_id), key=lambda a: a.path)
        assert listed == [Artifact("model/model.pkl", d3, 30), Artifact("plots/roc.png", d2, 20)]

    # ---------------------------------------------------------------- unknown run ids

    RUN_METHODS: dict[str, Callable[[TrackingStore, str], object]] = {
        "get_run": lambda s, r: s.get_run(r),
        "set_run_status": lambda s, r: s.set_run_status(r, RunStatus.FINISHED, end_time=1),
        "heartbeat": lambda s, r: s.heartbeat(r, 1),
        "log_params": lambda s, r: s.log_params(r, {"a": "1"}),
        "set_tags": lambda s, r: s.set_tags(r, {"a": "1"}),
        "log_metrics": lambda s, r: s.log_metrics(r, [("m", 1.0, 0, 1)]),
        "get_metric_history": lambda s, r: s.get_metric_history(r, "m"),
        "log_artifacts": lambda s, r: s.log_artifacts(r, [Artifact("a", "d", 1)]),
        "list_artifacts": lambda s, r: s.list_artifacts(r),
    }

    @pytest.mark.parametrize("method", sorted(RUN_METHODS))
    def test_unknown_run_id_raises_not_found(self, store: TrackingStore, method: str) -> None:
        make_run(store, make_experiment(store))
        missing = new_id()
        with pytest.raises(NotFoundError, match=missing):
            self.RUN_METHODS[method](store, missing)

    # ---------------------------------------------------------------- search

    @pytest.mark.parametrize(("text", "expected"), FILTER_CASES)
    def test_search_filter(self, store: TrackingStore, text: str, expected: list[str]) -> None:
        experiment_id = make_experiment(store)
        run_ids_by_name(store, experiment_id)
        found = store.search_runs([experiment_id], parse_filter(text), [])
        assert names(found) == expected

    def test_search_without_filter_returns_all_newest_first(self, store: TrackingStore) -> None:
        experiment_id = make_experiment(store)
        ids = run_ids_by_name(store, experiment_id)
        found = store.search_runs([experiment_id], None, [])
        assert names(found) == ["delta", "gamma", "beta", "alpha"]
        beta = next(run for run in found if run.name == "beta")
        assert beta.id == ids["beta"] and beta.params == {"model": "xgb", "depth": "10"}
        assert beta.metrics["auc"] == 0.7 and math.isnan(beta.metrics["loss"])
        assert beta.status is RunStatus.FAILED

    def test_search_by_run_id_and_experiment_id(self, store: TrackingStore) -> None:
        first, second = make_experiment(store), make_experiment(store)
        ids = run_ids_by_name(store, first)
        other = add_run(store, second, RunSpec("other", 5000, params={"model": "rf"}))
        found = store.search_runs(None, parse_filter(f"attributes.run_id = '{ids['gamma']}'"), [])
        assert names(found) == ["gamma"]
        found = store.search_runs(None, parse_filter(f"attributes.experiment_id = '{second}'"), [])
        assert [run.id for run in found] == [other]

    def test_search_experiment_ids(self, store: TrackingStore) -> None:
        first, second = make_experiment(store), make_experiment(store)
        run_ids_by_name(store, first)
        add_run(store, second, RunSpec("other", 5000, params={"model": "rf"}))
        model_rf = parse_filter("params.model = 'rf'")
        assert names(store.search_runs(None, model_rf, [])) == ["other", "alpha"]
        assert names(store.search_runs([first], model_rf, [])) == ["alpha"]
        assert names(store.search_runs([second], None, [])) == ["other"]
        assert names(store.search_runs([first, second], None, [])) == [
            "other",
            "delta",
            "gamma",
            "beta",
            "alpha",
        ]
        assert store.search_runs([], None, []) == []
        assert store.search_runs([new_id()], None, []) == []

    @pytest.mark.parametrize(("spec", "expected"), ORDER_CASES)
    def test_search_order_by(self, store: TrackingStore, spec: str, expected: list[str]) -> None:
        experiment_id = make_experiment(store)
        run_ids_by_name(store, experiment_id)
        assert names(store.search_runs([experiment_id], None, parse_order_by(spec))) == expected

    def test_search_ties_break_by_newest_start_then_id(self, store: TrackingStore) -> None:
        experiment_id = make_experiment(store)
        same_start = sorted(make_run(store, experiment_id, "same", start_time=500) for _ in range(3))
        newer = make_run(store, experiment_id, "newer", start_time=900)
        found = store.search_runs([experiment_id], None, [OrderBy("metrics", "missing")])
        assert [run.id for run in found] == [newer, *same_start]
        found = store.search_runs([experiment_id], None, [OrderBy("attributes", "run_name", descending=True)])
        assert [run.id for run in found] == [*same_start, newer]

    def test_search_max_results_and_offset(self, store: TrackingStore) -> None:
        experiment_id = make_experiment(store)
        run_ids_by_name(store, experiment_id)
        by_start = parse_order_by("attributes.start_time")
        assert names(store.search_runs([experiment_id], None, by_start, max_results=2)) == ["alpha", "beta"]
        assert names(store.search_runs([experiment_id], None, by_start, max_results=2, offset=1)) == [
            "beta",
            "gamma",
        ]
        assert names(store.search_runs([experiment_id], None, by_start, max_results=10, offset=3)) == [
            "delta"
        ]
        assert store.search_runs([experiment_id], None, by_start, offset=4) == []
        filtered = store.search_runs(
            [experiment_id], parse_filter("metrics.auc > 0"), [], max_results=1, offset=1
        )
        assert names(filtered) == ["beta"]

    @CONTRACT_SETTINGS
    @given(runs=random_runs, exprs=st.lists(random_filters, min_size=1, max_size=12))
    def test_search_equals_brute_force(
        self, store: TrackingStore, runs: list[dict[str, dict[str, object]]], exprs: list[Expr]
    ) -> None:
        experiment_id = make_experiment(store)
        for index, run in enumerate(runs):
            spec = RunSpec(f"r{index}", 1000 + index)
            spec.params = {k: str(v) for k, v in run["params"].items()}
            spec.tags = {k: str(v) for k, v in run["tags"].items()}
            spec.metrics = {k: float(v) for k, v in run["metrics"].items()}  # type: ignore[arg-type]
            add_run(store, experiment_id, spec)
        for expr in exprs:
            expected = [f"r{index}" for index, run in enumerate(runs) if brute_matches(expr, run)]
            found = store.search_runs([experiment_id], expr, [])
            assert names(found) == list(reversed(expected)), expr
