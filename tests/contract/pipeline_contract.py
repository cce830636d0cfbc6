"""The contract every :class:`PipelineStore` backend passes unchanged.

A backend's test class subclasses :class:`PipelineStoreContract` and provides a
``store`` fixture yielding an *empty* store.
"""

from __future__ import annotations

import dataclasses

import pytest

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.pipelines.models import (
    CacheEntry,
    OutputRef,
    PipelineRun,
    PipelineStatus,
    StepRun,
    StepStatus,
)
from shipyard.pipelines.store.base import PipelineStore


def digest(n: int) -> str:
    return "blake3:" + f"{n:064x}"


def make_run(
    store: PipelineStore, pipeline: str = "train", created_at: int = 1000, nodes: int = 2
) -> PipelineRun:
    run = PipelineRun(
        new_id(),
        pipeline,
        PipelineStatus.RUNNING,
        created_at,
        params={"n": 3, "cols": ["a", "b"]},
        source="flows:train",
        tracking_run_id=new_id(),
        created_by="ann",
        graph={"nodes": [{"name": f"s{i}"} for i in range(nodes)]},
        outputs={"output": f"s{nodes - 1}.output"},
    )
    steps = [
        StepRun(run.id, f"s{i}", f"flows.s{i}", position=i, tracking_run_id=new_id()) for i in range(nodes)
    ]
    store.create_run(run, steps)
    return run


def finished(step: StepRun, n: int, cache_key: str | None = None) -> StepRun:
    return dataclasses.replace(
        step,
        status=StepStatus.SUCCEEDED,
        attempts=2,
        started_at=10,
        ended_at=20,
        duration_ms=10,
        cache_key=cache_key,
        inputs={"s0.output": digest(n - 1)},
        outputs={"output": OutputRef(digest(n), "json@1", 4)},
        error="first attempt: Traceback ...",
    )


class PipelineStoreContract:
    def test_a_new_run_and_its_steps_read_back_whole(self, store: PipelineStore) -> None:
        run = make_run(store)
        assert store.get_run(run.id) == run
        assert [(s.node, s.status, s.position) for s in store.list_steps(run.id)] == [
            ("s0", StepStatus.PENDING, 0),
            ("s1", StepStatus.PENDING, 1),
        ]

    def test_unknown_runs_are_not_found(self, store: PipelineStore) -> None:
        for call in (store.get_run, store.list_steps, lambda r: store.save_steps(r, [])):
            with pytest.raises(NotFoundError):
                call(new_id())

    def test_a_run_id_is_taken_once(self, store: PipelineStore) -> None:
        run = make_run(store)
        with pytest.raises(AlreadyExistsError):
            store.create_run(run, [])

    def test_saved_steps_replace_their_records_and_keep_every_field(self, store: PipelineStore) -> None:
        run = make_run(store)
        first = store.list_steps(run.id)[0]
        running = dataclasses.replace(first, status=StepStatus.RUNNING, attempts=1, started_at=10)
        store.save_steps(run.id, [running])
        assert store.list_steps(run.id)[0] == running
        done = finished(first, 5, cache_key="sha256:" + "1" * 64)
        store.save_steps(run.id, [running, done])  # the last record of a node wins
        assert store.list_steps(run.id)[0] == done
        assert store.list_steps(run.id)[1].status is StepStatus.PENDING

    def test_cache_entries_are_found_by_key_and_replaced(self, store: PipelineStore) -> None:
        run = make_run(store)
        key, other = "sha256:" + "a" * 64, "sha256:" + "b" * 64
        entry = CacheEntry(key, "flows.s0", {"output": OutputRef(digest(1), "json@1", 4)}, run.id, 5)
        store.save_steps(run.id, [], [entry])
        assert store.find_cache([key, other]) == {key: entry}
        newer = dataclasses.replace(
            entry, outputs={"output": OutputRef(digest(2), "numpy@1", 128)}, created_at=9
        )
        store.save_steps(run.id, [], [newer])
        assert store.find_cache([key]) == {key: newer}
        assert store.find_cache([]) == {}

    def test_end_run_saves_the_last_steps_and_then_nothing_changes(self, store: PipelineStore) -> None:
        run = make_run(store)
        steps = store.list_steps(run.id)
        entry = CacheEntry(
            "sha256:" + "c" * 64, "flows.s1", {"output": OutputRef(digest(7), "json@1", 1)}, run.id, 9
        )
        ended = store.end_run(
            run.id, PipelineStatus.FAILED, 50, "step 's1' failed", [finished(steps[1], 7)], [entry]
        )
        assert (ended.status, ended.ended_at, ended.error) == (PipelineStatus.FAILED, 50, "step 's1' failed")
        assert store.get_run(run.id) == ended
        assert store.list_steps(run.id)[1].status is StepStatus.SUCCEEDED
        assert store.find_cache([entry.cache_key]) == {entry.cache_key: entry}
        with pytest.raises(ConflictError):
            store.save_steps(run.id, [finished(steps[0], 3)])
        with pytest.raises(ConflictError):
            store.end_run(run.id, PipelineStatus.SUCCEEDED, 60)
        assert store.list_steps(run.id)[0].status is StepStatus.PENDING

    def test_a_step_of_another_run_is_refused_and_nothing_is_written(self, store: PipelineStore) -> None:
        run, other = make_run(store), make_run(store)
        mine, theirs = store.list_steps(run.id)[0], store.list_steps(other.id)[0]
        with pytest.raises(ConflictError):
            store.save_steps(run.id, [finished(mine, 3), theirs])
        assert store.list_steps(run.id)[0].status is StepStatus.PENDING

    def test_runs_are_listed_newest_first_by_pipeline(self, store: PipelineStore) -> None:
        old, new = make_run(store, "train", 1000), make_run(store, "train", 2000)
        other = make_run(store, "score", 1500)
        assert [r.id for r in store.list_runs()] == [new.id, other.id, old.id]
        assert [r.id for r in store.list_runs("train")] == [new.id, old.id]
        assert [r.id for r in store.list_runs(limit=1, offset=1)] == [other.id]
        assert store.list_runs("nothing") == []

    def test_delete_cache_by_step_or_all(self, store: PipelineStore) -> None:
        run = make_run(store)
        entries = [
            CacheEntry(
                f"sha256:{i:064x}",
                f"flows.s{i % 2}",
                {"output": OutputRef(digest(i), "json@1", 1)},
                run.id,
                i,
            )
            for i in range(4)
        ]
        store.save_steps(run.id, [], entries)
        assert store.delete_cache("flows.s0") == 2
        assert set(store.find_cache([e.cache_key for e in entries])) == {
            entries[1].cache_key,
            entries[3].cache_key,
        }
        assert store.delete_cache() == 2
        assert store.find_cache([e.cache_key for e in entries]) == {}

    def test_output_digests_cover_steps_and_cache(self, store: PipelineStore) -> None:
        run = make_run(store)
        entry = CacheEntry(
            "sha256:" + "d" * 64, "flows.s0", {"output": OutputRef(digest(9), "json@1", 1)}, run.id, 1
        )
        store.save_steps(run.id, [finished(store.list_steps(run.id)[0], 5)], [entry])
        assert store.output_digests() == {digest(5), digest(9)}
