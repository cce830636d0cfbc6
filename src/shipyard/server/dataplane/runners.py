"""Calling a loaded model on prepared requests: one call per request, or micro-batched.

:func:`predict_batch` runs in an executor thread: it stacks the requests' rows, calls
the model once (``predict_rows`` on a float matrix, the fast path, or ``predict`` on a
DataFrame), and splits the outputs back, already as plain Python lists, so the event
loop only has to serialise them.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shipyard.serving.batching import MicroBatcher

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.models.package import LoadedModel
    from shipyard.server.dataplane.inputs import Prepared


@dataclass(frozen=True)
class Outcome:
    """One request's outputs: a prediction per row, and class probabilities when asked for."""

    predictions: list[Any]
    probabilities: list[list[float]] | None


def predict_batch(model: LoadedModel, items: list[Prepared]) -> list[Outcome]:
    """The outcomes of ``items`` from one model call over all their rows."""
    import numpy as np

    proba_wanted = any(p.proba for p in items)
    if all(p.matrix is not None for p in items):
        matrices = [p.matrix for p in items if p.matrix is not None]
        matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
        predictions = model.predict_rows(matrix)
        probabilities = model.predict_proba_rows(matrix) if proba_wanted else None
    else:
        frame = _frame(model, items)
        predictions = model.predict(frame)
        probabilities = model.predict_proba(frame) if proba_wanted else None
    rows = predictions.tolist()
    proba_rows = None if probabilities is None else probabilities.tolist()
    if len(items) == 1:
        return [Outcome(rows, proba_rows if items[0].proba else None)]
    outcomes, start = [], 0
    for item in items:
        end = start + item.count
        wanted = proba_rows is not None and item.proba
        outcomes.append(Outcome(rows[start:end], proba_rows[start:end] if wanted and proba_rows else None))
        start = end
    return outcomes


def _frame(model: LoadedModel, items: list[Prepared]) -> pd.DataFrame:
    import pandas as pd

    names = list(items[0].columns)
    data = {n: [v for p in items for v in p.columns[n]] for n in names}
    frame = pd.DataFrame(data)
    signature = model.signature
    if signature is not None:
        for column in signature.inputs:
            if column.dtype == "datetime" and column.name in frame:
                frame[column.name] = pd.to_datetime(frame[column.name], utc=True, format="ISO8601")
    return frame


class Runner(Protocol):
    async def run(self, item: Prepared) -> Outcome: ...

    async def close(self) -> None: ...


class DirectRunner:
    """One model call per request, in an executor thread (``executor=None``: on the loop itself)."""

    def __init__(self, model: LoadedModel, executor: Executor | None) -> None:
        self.model = model
        self.executor = executor

    async def run(self, item: Prepared) -> Outcome:
        if self.executor is None:
            return predict_batch(self.model, [item])[0]
        loop = asyncio.get_running_loop()
        outcomes = await loop.run_in_executor(self.executor, predict_batch, self.model, [item])
        return outcomes[0]

    async def close(self) -> None:
        return None


class BatchRunner:
    """Concurrent requests coalesced by a :class:`~shipyard.serving.batching.MicroBatcher`
    (``executor=None``: the batches run on the loop itself)."""

    def __init__(
        self,
        model: LoadedModel,
        executor: Executor | None,
        max_batch_size: int,
        max_wait_ms: float,
        on_batch: Any = None,
    ) -> None:
        self.model = model
        self.batcher: MicroBatcher[Prepared, Outcome] = MicroBatcher(
            lambda items: predict_batch(model, items),
            max_batch_size=max_batch_size,
            max_wait_ms=max_wait_ms,
            executor=executor,
            rows_of=_count,
            on_batch=on_batch,
        )

    async def run(self, item: Prepared) -> Outcome:
        return await self.batcher.submit(item)

    async def close(self) -> None:
        await self.batcher.close()


def _count(item: Prepared) -> int:
    return item.count


def probe_seconds(model: LoadedModel, tries: int = 5) -> float | None:
    """The fastest of ``tries`` one-row calls of ``model`` on zeros (numeric signatures only), or
    None when the model cannot be probed that way. Also warms the model up."""
    import numpy as np

    signature = model.signature
    if signature is None or not all(c.dtype in ("float", "int", "bool") for c in signature.inputs):
        return None
    row = np.zeros((1, len(signature.inputs)), dtype=np.float64)
    best = None
    for _ in range(tries):
        started = time.perf_counter()
        try:
            model.predict_rows(row)
        except Exception:  # a model may refuse zeros; it then runs in a thread
            return None
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best
