"""The micro-batcher: coalescing, size and wait limits, failures kept with their item, closing."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shipyard.serving.batching import MicroBatcher


class Recorder:
    """A model call that records each batch it is given; ``gate`` holds calls until set."""

    def __init__(self, fail_on: set[int] | None = None, gate: threading.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on or set()
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        if self.gate is not None:
            self.gate.wait(10)
        with self.lock:
            self.batches.append(list(items))
        bad = self.fail_on.intersection(items)
        if bad:
            raise ValueError(f"bad item {sorted(bad)}")
        return [i * 10 for i in items]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.mark.parametrize("executor", [False, True])
def test_results_come_back_in_order_and_to_the_right_caller(executor: bool) -> None:
    recorder = Recorder()

    async def main() -> list[int]:
        pool = ThreadPoolExecutor(2) if executor else None
        batcher = MicroBatcher(recorder, max_batch_size=4, max_wait_ms=5, executor=pool)
        results = await asyncio.gather(*(batcher.submit(i) for i in range(10)))
        await batcher.close()
        if pool:
            pool.shutdown()
        return list(results)

    assert run(main()) == [i * 10 for i in range(10)]
    assert all(len(b) <= 4 for b in recorder.batches)
    assert sorted(i for b in recorder.batches for i in b) == list(range(10))


def test_concurrent_requests_are_coalesced_while_a_call_runs() -> None:
    gate = threading.Event()
    recorder = Recorder(gate=gate)

    async def main() -> None:
        pool = ThreadPoolExecutor(1)
        batcher = MicroBatcher(recorder, max_batch_size=64, max_wait_ms=0, executor=pool)
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.01)
        assert batcher.pending == 0  # the first call started alone (and waits for the gate)
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 9)]
        await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(first, *rest)
        await batcher.close()
        pool.shutdown()

    run(main())
    assert recorder.batches[0] == [0]
    assert recorder.batches[1] == list(range(1, 9))  # everything that queued meanwhile, in one call


def test_a_lone_request_waits_at_most_max_wait() -> None:
    recorder = Recorder()

    async def main() -> None:
        batcher = MicroBatcher(recorder, max_batch_size=64, max_wait_ms=20)
        task = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.005)
        second = asyncio.ensure_future(batcher.submit(2))  # arrives within the wait: same batch
        assert await task == 10
        assert await second == 20
        await batcher.close()

    run(main())
    assert recorder.batches == [[1, 2]]


def test_batch_size_counts_rows() -> None:
    recorder = Recorder()

    async def main() -> None:
        batcher = MicroBatcher(recorder, max_batch_size=5, max_wait_ms=50, rows_of=lambda item: item)
        await asyncio.gather(*(batcher.submit(n) for n in (3, 2, 4, 9)))
        await batcher.close()

    run(main())
    assert recorder.batches == [[3, 2], [4], [9]]  # 9 rows is more than 5: it goes alone


def test_a_failing_item_fails_alone() -> None:
    recorder = Recorder(fail_on={3})

    async def main() -> list[object]:
        batcher = MicroBatcher(recorder, max_batch_size=8, max_wait_ms=10)
        results = await asyncio.gather(*(batcher.submit(i) for i in range(6)), return_exceptions=True)
        await batcher.close()
        return list(results)

    results = run(main())
    assert [r for i, r in enumerate(results) if i != 3] == [0, 10, 20, 40, 50]
    assert isinstance(results[3], ValueError)


def test_on_batch_sees_every_batch_size() -> None:
    sizes: list[int] = []

    async def main() -> None:
        batcher = MicroBatcher(Recorder(), max_batch_size=3, max_wait_ms=10, on_batch=sizes.append)
        await asyncio.gather(*(batcher.submit(i) for i in range(7)))
        await batcher.close()

    run(main())
    assert sum(sizes) == 7 and max(sizes) <= 3


def test_close_finishes_the_queue_and_later_items_run_alone() -> None:
    recorder = Recorder()

    async def main() -> tuple[list[int], int]:
        batcher = MicroBatcher(recorder, max_batch_size=64, max_wait_ms=1000)
        pending = [asyncio.ensure_future(batcher.submit(i)) for i in range(3)]
        await asyncio.sleep(0)
        await batcher.close()  # does not wait the full second
        done = [await p for p in pending]
        return done, await batcher.submit(7)

    done, late = run(main())
    assert done == [0, 10, 20] and late == 70
    assert recorder.batches[-1] == [7]


def test_a_cancelled_caller_does_not_break_the_batch() -> None:
    gate = threading.Event()
    recorder = Recorder(gate=gate)

    async def main() -> int:
        pool = ThreadPoolExecutor(1)
        batcher = MicroBatcher(recorder, max_batch_size=8, max_wait_ms=0, executor=pool)
        gone = asyncio.ensure_future(batcher.submit(1))
        kept = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0.01)
        gone.cancel()
        gate.set()
        result = await kept
        await batcher.close()
        pool.shutdown()
        return result

    assert run(main()) == 20


@pytest.mark.parametrize("kwargs", [{"max_batch_size": 0}, {"max_wait_ms": -1}])
def test_bad_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), **kwargs)  # type: ignore[arg-type]
