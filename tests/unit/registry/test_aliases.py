"""Alias moves without packages: holder(at=...) against a model of the history (hypothesis), and
promotions racing on one alias from threads (SQLite, PostgreSQL) and from two processes."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.errors import ConflictError
from shipyard.core.ids import new_id
from shipyard.registry import gates
from shipyard.registry.models import AliasChange, ModelVersion
from shipyard.registry.service import RegistryService
from shipyard.registry.store.base import RegistryStore
from shipyard.registry.store.memory import MemoryRegistryStore
from shipyard.registry.store.sql import SqlRegistryStore


def add_versions(store: RegistryStore, name: str, count: int) -> None:
    """Versions 1..count of ``name``, recorded straight in the store (no package needed here)."""
    for n in range(1, count + 1):
        run = f"{n:032x}"
        store.create_version(
            ModelVersion(
                new_id(), name, 0, f"runs:/{run}/model", run, f"blake3:{n:064x}", "sklearn", "ann", n
            )
        )


def check_chain(history: list[AliasChange]) -> None:
    """Each change starts where the one before it ended, in seq order and time order."""
    for before, after in itertools.pairwise(history):
        assert after.seq > before.seq and after.at >= before.at
        assert after.from_version == before.to_version, history


# -- holder(at=...) -----------------------------------------------------------------------
Step = tuple[str, int, int]  # ("promote", version, time) or ("rollback", 0, time)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("promote"), st.integers(1, 4), st.integers(0, 50)),
        st.tuples(st.just("rollback"), st.just(0), st.integers(0, 50)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(steps=steps)
def test_holder_at_any_time_follows_the_history(steps: list[Step]) -> None:
    store = MemoryRegistryStore()
    add_versions(store, "m", 4)
    service = RegistryService(store)
    expected: list[tuple[int, int | None]] = []  # (time of the change, holder after it)
    moves: list[tuple[int | None, int | None]] = []  # (from, to) of every change
    holder: int | None = None
    last_time = 0
    for action, version, at in steps:
        service.clock = lambda at=at: at  # type: ignore[misc]
        if action == "promote":
            service.promote("m", version, "production")
            if version == holder:
                continue  # nothing moves
            target = version
        else:
            if holder is None:
                with pytest.raises(ConflictError):
                    service.rollback("m", "production")
                continue
            service.rollback("m", "production")
            target = moves[-1][0]
        last_time = max(last_time, at)  # a change is never dated before the one it follows
        moves.append((holder, target))
        holder = target
        expected.append((last_time, holder))

    history = service.history("m", "production")
    assert [(c.from_version, c.to_version) for c in history] == moves
    check_chain(history)
    for probe in range(-1, 53):
        before = [h for t, h in expected if t <= probe]
        found = service.holder("m", "production", at=probe)
        assert (found.version if found else None) == (before[-1] if before else None), (probe, expected)
    now = service.holder("m", "production")
    assert (now.version if now else None) == holder


# -- racing promotions --------------------------------------------------------------------
def race_threads(service: RegistryService, versions: range) -> None:
    start = threading.Barrier(len(versions))

    def promote(version: int) -> None:
        start.wait()
        service.promote("m", version, "production", reason=f"thread {version}")

    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def check_race(service: RegistryService, expected: int) -> None:
    history = service.history("m", "production")
    assert len(history) == expected, "every promotion is in the history"
    check_chain(history)
    assert {c.to_version for c in history} == set(range(1, expected + 1))
    assert all(c.action == "promote" and c.report is not None and c.report["passed"] for c in history)
    assert service.aliases("m") == {"production": history[-1].to_version}


def racing_service(store: RegistryStore, count: int) -> RegistryService:
    add_versions(store, "m", count)
    service = RegistryService(store)
    service.set_policy("m", "production", [gates.card_fields(["owner"])])  # gates run on every attempt
    service.describe("m", fields={"owner": "risk"})
    return service


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_racing_promotions_are_serialised(backend: str, sqlite_uri: str) -> None:
    store = MemoryRegistryStore() if backend == "memory" else SqlRegistryStore(sqlite_uri)
    service = racing_service(store, 8)
    race_threads(service, range(1, 9))
    check_race(service, 8)


@pytest.mark.postgres
def test_racing_promotions_are_serialised_on_postgres(postgres_uri: str) -> None:
    service = racing_service(SqlRegistryStore(postgres_uri), 8)
    race_threads(service, range(1, 9))
    check_race(service, 8)


PROMOTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from shipyard.registry.service import RegistryService
    from shipyard.registry.store.sql import SqlRegistryStore

    uri, first, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    service = RegistryService(SqlRegistryStore(uri))
    while not go.exists():
        time.sleep(0.01)
    for i in range(count):
        service.promote("m", first + i % 2, "production")  # this process's two versions, in turn
    """
)


def race_processes(uri: str, tmp_path: Path, count: int) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROMOTER, uri, str(first), str(count), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for first in (1, 3)
    ]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err


def test_racing_promotions_from_two_processes(sqlite_uri: str, tmp_path: Path) -> None:
    service = racing_service(SqlRegistryStore(sqlite_uri), 4)
    race_processes(sqlite_uri, tmp_path, 15)
    history = service.history("m", "production")
    assert len(history) == 30
    check_chain(history)
    assert [c.to_version for c in history if c.to_version in (1, 2)] == [1, 2] * 7 + [1]
    assert [c.to_version for c in history if c.to_version in (3, 4)] == [3, 4] * 7 + [3]


@pytest.mark.postgres
def test_racing_promotions_from_two_processes_on_postgres(postgres_uri: str, tmp_path: Path) -> None:
    service = racing_service(SqlRegistryStore(postgres_uri), 4)
    race_processes(postgres_uri, tmp_path, 15)
    history = service.history("m", "production")
    assert len(history) == 30
    check_chain(history)
