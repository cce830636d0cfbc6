"""Micro-batching: concurrent requests to one model coalesced into one call.

A :class:`MicroBatcher` owns one model call at a time. Requests that arrive while a
call runs wait in a queue; when the call ends, everything queued (up to
``max_batch_size`` rows) goes into the next call at once, so under load the batches
grow by themselves. A request that arrives to an idle model waits at most
``max_wait_ms`` (counted from its arrival) for company before its batch starts.

The call itself runs in an executor thread, so the event loop keeps accepting and
parsing requests meanwhile; without an executor it runs on the event loop, which is
faster for a model that answers in a fraction of a millisecond (no thread hand-over,
no contention for the GIL). When a batch fails, each of its items is retried alone,
so one bad request cannot fail the others: each gets its own result or its own
exception.

>>> import asyncio
>>> async def demo() -> list[int]:
...     batcher = MicroBatcher(lambda items: [x * 2 for x in items], max_batch_size=8, max_wait_ms=1)
...     results = await asyncio.gather(*(batcher.submit(i) for i in range(5)))
...     await batcher.close()
...     return results
>>> asyncio.run(demo())
[0, 2, 4, 6, 8]
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    rows: int
    future: asyncio.Future[R]
    at: float  # loop time of arrival


def _one_row(item: Any) -> int:
    return 1


class MicroBatcher(Generic[T, R]):
    """Coalesce :meth:`submit` calls into calls of ``call(items) -> results`` (one result per item).

    ``rows_of(item)`` says how many rows an item holds (default 1): a batch holds at most
    ``max_batch_size`` rows, except that an item larger than that goes alone.
    ``on_batch(rows)`` is told the size of each batch (for metrics). ``executor`` runs the
    calls (None: on the event loop).
    """

    def __init__(
        self,
        call: Callable[[list[T]], list[R]],
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        executor: Executor | None = None,
        rows_of: Callable[[T], int] = _one_row,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self._call = call
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self._executor = executor
        self._rows_of = rows_of
        self._on_batch = on_batch
        self._queue: collections.deque[_Waiting[T, R]] = collections.deque()
        self._queued_rows = 0
        self._wake: asyncio.Event | None = None
        self._full: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Items waiting for a batch (not counting the batch being computed)."""
        return len(self._queue)

    async def submit(self, item: T) -> R:
        """The result of ``item``, computed in a batch with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        if self._closed:  # a request that saw this batcher just before it was replaced
            if self._executor is None:
                return self._call([item])[0]
            return (await loop.run_in_executor(self._executor, self._call, [item]))[0]
        if self._task is None:
            self._wake, self._full = asyncio.Event(), asyncio.Event()
            self._task = loop.create_task(self._run(), name="shipyard-micro-batcher")
        future: asyncio.Future[R] = loop.create_future()
        rows = self._rows_of(item)
        self._queue.append(_Waiting(item, rows, future, loop.time()))
        self._queued_rows += rows
        assert self._wake is not None and self._full is not None
        self._wake.set()
        if self._queued_rows >= self.max_batch_size:
            self._full.set()
        return await future

    async def close(self) -> None:
        """Finish every queued item, then stop. Later submissions run alone, unbatched."""
        self._closed = True
        if self._task is None:
            return
        assert self._wake is not None and self._full is not None
        self._wake.set()
        self._full.set()
        await self._task

    async def _run(self) -> None:
        assert self._wake is not None and self._full is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._wait_for_company(loop)
            batch = self._take()
            if self._on_batch is not None:
                self._on_batch(sum(w.rows for w in batch))
            items = [w.item for w in batch]
            if self._executor is None:
                outcomes = self._call_each(items)
            else:
                outcomes = await loop.run_in_executor(self._executor, self._call_each, items)
            for waiting, (ok, value) in zip(batch, outcomes, strict=True):
                if waiting.future.done():  # the client went away
                    continue
                if ok:
                    waiting.future.set_result(value)
                else:
                    waiting.future.set_exception(value)

    async def _wait_for_company(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until the batch is full or its oldest item has waited ``max_wait_ms``."""
        assert self._full is not None
        if self._closed or self._queued_rows >= self.max_batch_size:
            return
        delay = self._queue[0].at + self.max_wait_s - loop.time()
        if delay <= 0:
            return
        self._full.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._full.wait(), delay)

    def _take(self) -> list[_Waiting[T, R]]:
        batch = [self._queue.popleft()]
        rows = batch[0].rows
        while self._queue and rows + self._queue[0].rows <= self.max_batch_size:
            waiting = self._queue.popleft()
            batch.append(waiting)
            rows += waiting.rows
        self._queued_rows -= rows
        return batch

    def _call_each(self, items: list[T]) -> list[tuple[bool, Any]]:
        """Run the batch; if it fails, run each item alone so failures stay with their item."""
        try:
            results = self._call(items)
            if len(results) != len(items):
                raise RuntimeError(f"a batch of {len(items)} items gave {len(results)} results")
            return [(True, r) for r in results]
        except Exception as exc:
            if len(items) == 1:
                return [(False, exc)]
        outcomes: list[tuple[bool, Any]] = []
        for item in items:
            try:
                outcomes.append((True, self._call([item])[0]))
            except Exception as exc:
                outcomes.append((False, exc))
        return outcomes
