"""The contract every :class:`MonitorStore` backend passes unchanged.

A backend's test class subclasses :class:`MonitorStoreContract` and provides a ``store``
fixture yielding an *empty* store. The concurrency cases run writers on threads, each a
transaction of its own (on PostgreSQL each on its own connection), as separate processes
would: versions stay gap-free, an unchanged spec makes one version, and two evaluations
racing to fire one check leave one firing alert.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import pytest

from shipyard.core.errors import ConflictError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.monitoring import actions, checks
from shipyard.monitoring.alerting import update_alerts
from shipyard.monitoring.monitor_models import Alert, CheckOutcome, Monitor, MonitorResult, parse_window
from shipyard.monitoring.store.base import MonitorStore

WEBHOOK = "https://hooks.slack.com/services/T0/B0/secret-path"
HOUR = 3_600_000


def draft(name: str = "m", window: str | int = "1h", at: int = 1000, **changes: object) -> Monitor:
    monitor = Monitor(
        name=name,
        deployment="fraud-svc",
        reference="transactions@3",
        window=parse_window(window),
        checks=(checks.feature_drift(columns=["amount"]), checks.performance("roc_auc", min=0.8)),
        actions=(actions.notify(webhook=WEBHOOK, secret="hmac"), actions.retrain("train:pipe", {"n": 2})),
        cooldown_ms=HOUR,
        created_at=at,
        created_by="ann",
    )
    return dataclasses.replace(monitor, **changes)  # type: ignore[arg-type]


def result(monitor: str = "m", at: int = 5000, status: str = "warning", **changes: object) -> MonitorResult:
    outcome = CheckOutcome(
        "feature_drift",
        "feature_drift",
        status,
        0.5,
        0.0,
        0.5,
        "1 of 2 drifted",
        {"columns": {"amount": {"p_value": 0.001}}},
    )
    done = MonitorResult(new_id(), monitor, 1, at, at - HOUR, at, 100, status, (outcome,), notes=("note",))
    return dataclasses.replace(done, **changes)  # type: ignore[arg-type]


def alert(monitor: str = "m", check: str = "feature_drift", at: int = 5000, **changes: object) -> Alert:
    done = Alert(new_id(), monitor, check, "warning", "firing", at, at, new_id(), f"{check} drifted", 0.5)
    return dataclasses.replace(done, **changes)  # type: ignore[arg-type]


def on_threads(n: int, work: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
    """Run ``work(i)`` for i in 0..n-1 on n threads released together; (answers, errors)."""
    barrier = threading.Barrier(n)
    answers: list[object] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers.append(work(i))
        except BaseException as exc:  # collected and checked by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, errors


class MonitorStoreContract:
    # -- versioned specs ---------------------------------------------------------------
    def test_specs_are_numbered_and_round_trip(self, store: MonitorStore) -> None:
        first = store.create_monitor(draft())
        second = store.create_monitor(draft(window=500, at=2000))
        assert (first.version, second.version) == (1, 2)
        got = store.get_monitor("m")
        assert got == second and got.window.count == 500
        assert store.get_monitor("m", 1) == first
        assert got.checks == draft().checks
        assert got.actions[0].params["webhook"] == WEBHOOK  # the store keeps what the user gave
        assert got.actions[0].params["secret"] == "hmac"
        assert got.actions[1].params["params"] == {"n": 2}
        assert (got.reference, got.cooldown_ms, got.created_at, got.created_by) == (
            "transactions@3",
            HOUR,
            2000,
            "ann",
        )

    def test_an_unchanged_spec_writes_no_version(self, store: MonitorStore) -> None:
        first = store.create_monitor(draft())
        again = store.create_monitor(draft(at=9999, created_by="bob"))
        assert again == first
        changed = store.create_monitor(draft(cooldown_ms=60_000))
        assert changed.version == 2
        back = store.create_monitor(draft())  # back to the first spec: a new version, not version 1
        assert back.version == 3

    def test_unknown_monitor_and_version(self, store: MonitorStore) -> None:
        with pytest.raises(NotFoundError):
            store.get_monitor("nope")
        store.create_monitor(draft())
        with pytest.raises(NotFoundError, match="version 7"):
            store.get_monitor("m", 7)

    def test_list_gives_the_latest_of_each_by_name(self, store: MonitorStore) -> None:
        store.create_monitor(draft("b"))
        store.create_monitor(draft("a"))
        store.create_monitor(draft("b", window="2h"))
        assert [(m.name, m.version) for m in store.list_monitors()] == [("a", 1), ("b", 2)]

    def test_concurrent_changes_get_distinct_gapless_versions(self, store: MonitorStore) -> None:
        answers, errors = on_threads(6, lambda i: store.create_monitor(draft(window=100 + i)))
        assert errors == []
        versions = sorted(m.version for m in answers)  # type: ignore[attr-defined]
        assert versions == [1, 2, 3, 4, 5, 6]
        counts = {store.get_monitor("m", v).window.count for v in versions}
        assert counts == {100, 101, 102, 103, 104, 105}

    def test_concurrent_creates_of_one_spec_make_one_version(self, store: MonitorStore) -> None:
        answers, errors = on_threads(6, lambda i: store.create_monitor(draft(at=i)))
        assert errors == []
        assert {m.version for m in answers} == {1}  # type: ignore[attr-defined]
        assert store.get_monitor("m").version == 1

    # -- results -----------------------------------------------------------------------
    def test_results_round_trip_newest_first(self, store: MonitorStore) -> None:
        old, new = result(at=1000), result(at=2000, status="ok", canary={"status": "pass", "streak": 1})
        store.add_result(new, [])
        store.add_result(old, [])
        store.add_result(result("other"), [])
        found = store.list_results("m")
        assert [r.id for r in found] == [new.id, old.id]
        assert found[0] == new
        assert found[1].checks[0].figures == {"columns": {"amount": {"p_value": 0.001}}}
        assert [r.id for r in store.list_results("m", limit=1)] == [new.id]
        assert store.list_results("nobody") == []

    def test_non_finite_numbers_read_back_as_none(self, store: MonitorStore) -> None:
        outcome = CheckOutcome("latency", "latency", "skipped", float("nan"), None, float("inf"))
        stored = result(checks=(outcome,))
        store.add_result(stored, [alert(value=float("inf"))])
        [got] = store.list_results("m")
        assert (got.checks[0].value, got.checks[0].critical) == (None, None)
        assert store.list_alerts()[0].value is None

    def test_update_result_replaces_what_the_actions_did(self, store: MonitorStore) -> None:
        stored = result()
        store.add_result(stored, [])
        done = dataclasses.replace(stored, actions=({"action": "notify", "status": "ok", "detail": "sent"},))
        store.update_result(done)
        assert store.list_results("m") == [done]
        with pytest.raises(NotFoundError):
            store.update_result(result())

    def test_a_result_id_is_stored_once(self, store: MonitorStore) -> None:
        stored = result()
        store.add_result(stored, [])
        with pytest.raises(ConflictError):
            store.add_result(stored, [alert()])
        assert store.list_alerts() == []

    # -- alerts ------------------------------------------------------------------------
    def test_alerts_are_upserted_by_id_and_filtered(self, store: MonitorStore) -> None:
        first = alert(at=1000)
        store.add_result(result(), [first, alert(check="latency", at=2000, severity="critical")])
        seen = dataclasses.replace(first, count=2, last_seen_at=3000, severity="critical", value=0.9)
        store.add_result(result(), [seen])
        assert store.list_alerts(check="feature_drift") == [seen]  # one record, updated
        assert [a.check for a in store.list_alerts("m")] == ["latency", "feature_drift"]
        assert [a.check for a in store.list_alerts(limit=1)] == ["latency"]
        store.add_result(result("other"), [alert("other", at=500)])
        assert [a.monitor for a in store.list_alerts("other")] == ["other"]
        resolved = dataclasses.replace(seen, state="resolved", resolved_at=4000)
        store.add_result(result(), [resolved])
        assert [a.check for a in store.list_alerts("m", "firing")] == ["latency"]
        assert store.list_alerts("m", "resolved") == [resolved]

    def test_a_second_firing_alert_of_a_check_is_refused_whole(self, store: MonitorStore) -> None:
        store.add_result(result(), [alert()])
        refused = result()
        with pytest.raises(ConflictError, match="already has a firing alert"):
            store.add_result(refused, [alert(check="latency"), alert()])
        assert refused.id not in {r.id for r in store.list_results("m")}
        assert [a.check for a in store.list_alerts()] == ["feature_drift"]
        with pytest.raises(ConflictError):  # two firing alerts of one check in one result
            store.add_result(result(), [alert(check="latency"), alert(check="latency")])

    def test_resolving_and_firing_anew_in_one_result_is_allowed(self, store: MonitorStore) -> None:
        old = alert(at=1000)
        store.add_result(result(), [old])
        new = alert(at=2000)
        store.add_result(result(), [dataclasses.replace(old, state="resolved", resolved_at=2000), new])
        assert store.list_alerts("m", "firing") == [new]
        store.add_result(result("other"), [alert("other")])  # another monitor's check of that name

    def test_cooldown_reopens_the_same_alert(self, store: MonitorStore) -> None:
        """What alerting does within the cooldown (re-open, not fire anew) reads back as one alert."""
        outcome = result().checks[0]
        fired = update_alerts("m", "r1", (outcome,), lambda c: _latest(store, c), 1000, HOUR)
        store.add_result(result(at=1000), fired.written)
        ok = dataclasses.replace(outcome, status="ok")
        resolved = update_alerts("m", "r2", (ok,), lambda c: _latest(store, c), 2000, HOUR)
        store.add_result(result(at=2000), resolved.written)
        again = update_alerts("m", "r3", (outcome,), lambda c: _latest(store, c), 3000, HOUR)
        assert again.fired == []  # within the cooldown: re-opened, not fired
        store.add_result(result(at=3000), again.written)
        [only] = store.list_alerts("m")
        assert (only.id, only.state, only.count, only.resolved_at) == (fired.fired[0].id, "firing", 2, None)
        later = update_alerts("m", "r4", (ok,), lambda c: _latest(store, c), 4000, HOUR)
        store.add_result(result(at=4000), later.written)
        fresh = update_alerts("m", "r5", (outcome,), lambda c: _latest(store, c), 4000 + 2 * HOUR, HOUR)
        assert len(fresh.fired) == 1  # after the cooldown: a new alert
        store.add_result(result(at=5000), fresh.written)
        assert len(store.list_alerts("m")) == 2
        assert len(store.list_alerts("m", "firing")) == 1

    def test_a_result_built_on_a_stale_alert_is_refused_whole(self, store: MonitorStore) -> None:
        read = alert()
        store.add_result(result(), [read])
        counted = dataclasses.replace(read, count=2, last_seen_at=6000)
        store.add_result(result(), [counted], [read])
        late = result()
        resolved = dataclasses.replace(read, state="resolved", resolved_at=7000)
        with pytest.raises(ConflictError, match="changed since it was read"):
            store.add_result(late, [resolved], [read])  # read before the count moved on
        assert store.list_alerts() == [counted]
        assert late.id not in {r.id for r in store.list_results("m")}
        with pytest.raises(ConflictError):  # an alert read that is not stored at all
            store.add_result(result(), [], [alert()])

    def test_racing_evaluations_leave_one_firing_alert(self, store: MonitorStore) -> None:
        """Six evaluations read "no alert" and each try to fire one: one is stored, the rest refused."""
        results = [result() for _ in range(6)]
        answers, errors = on_threads(6, lambda i: store.add_result(results[i], [alert(at=1000 + i)]))
        assert len(answers) == 1, errors
        assert len(errors) == 5 and all(isinstance(e, ConflictError) for e in errors)
        assert len(store.list_alerts("m", "firing")) == 1
        assert len(store.list_results("m")) == 1

    def test_racing_evaluations_that_retry_de_duplicate(self, store: MonitorStore) -> None:
        """What the monitor service does on a refusal: work the alerts out again and store them."""
        outcome = result().checks[0]

        def evaluate(i: int) -> int:
            for _ in range(20):
                done, seen = result(at=1000 + i), _latest(store, "feature_drift")
                changes = update_alerts("m", done.id, (outcome,), lambda c, a=seen: a, done.created_at, HOUR)
                try:
                    store.add_result(done, changes.written, [] if seen is None else [seen])
                    return len(changes.fired)
                except ConflictError:
                    continue
            raise AssertionError("never stored")

        answers, errors = on_threads(6, evaluate)
        assert errors == []
        assert sorted(answers) == [0, 0, 0, 0, 0, 1]  # type: ignore[type-var]
        [only] = store.list_alerts("m")
        assert (only.state, only.count) == ("firing", 6)
        assert len(store.list_results("m")) == 6


def _latest(store: MonitorStore, check: str) -> Alert | None:
    found = store.list_alerts("m", None, check, 1)
    return found[0] if found else None
