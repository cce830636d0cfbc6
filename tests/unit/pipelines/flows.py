"""Steps and pipelines the pipeline tests run (importable, so workers and ``resume`` find them).

Steps that must behave differently across attempts or runs read files named by their
arguments: a counter of attempts, a flag that makes a step fail.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import shipyard as sy


def bump(path: str) -> int:
    """Add one to the counter in ``path`` and return it (each call of a step is one attempt)."""
    file = Path(path)
    count = int(file.read_text()) + 1 if file.exists() else 1
    file.write_text(str(count))
    return count


@sy.step
def numbers(n: int) -> list[int]:
    return list(range(n))


@sy.step
def total(values: list[int]) -> int:
    return sum(values)


@sy.step
def scale(values: list[int], factor: float = 1.0) -> list[float]:
    return [v * factor for v in values]


@sy.step
def count_calls(path: str, value: int) -> int:
    bump(path)
    return value


@sy.pipeline
def arithmetic(n: int = 4, factor: float = 2.0):
    values = numbers(n)
    return {"total": total(values), "scaled": total(scale(values, factor))}


@sy.step(retries=2, retry_delay=0.01)
def flaky(counter: str, failures: int) -> str:
    attempt = bump(counter)
    if attempt <= failures:
        raise RuntimeError(f"flaky failure on attempt {attempt}")
    return f"ok after {attempt}"


@sy.step
def fail_unless(flag: str, value: int) -> int:
    if not Path(flag).exists():
        raise ValueError(f"the flag file {flag} is missing")
    return value * 10


@sy.step
def after(value: int) -> int:
    return value + 1


@sy.pipeline
def fragile(flag: str, counter: str):
    base = count_calls(counter, 5)
    guarded = fail_unless(flag, base)
    side = total(numbers(3))
    return {"guarded": after(guarded), "side": side}


@sy.step(timeout=0.5, retries=1, retry_delay=0.01)
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@sy.pipeline
def slow(seconds: float = 30.0):
    return after(total(numbers(2))), sleepy(seconds)


@sy.step
def make_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {"id": np.arange(rows), "x": rng.normal(size=rows), "label": [f"r{i % 3}" for i in range(rows)]}
    )


@sy.step
def frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame[frame["x"] > 0], preserve_index=False)


@sy.step
def frame_to_matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame[["id", "x"]].to_numpy()


@sy.step(outputs=("mean", "rows"))
def summarize(table: pa.Table, matrix: np.ndarray) -> tuple[float, int]:
    return float(np.mean(table.column("x").to_numpy())), int(matrix.shape[0])


@sy.pipeline
def tabular(rows: int = 50):
    frame = make_frame(rows)
    mean, count = summarize(frame_to_arrow(frame), frame_to_matrix(frame))
    return {"frame": frame, "mean": mean, "rows": count}


class Opaque:
    pass


@sy.step
def opaque() -> Opaque:
    return Opaque()


@sy.pipeline
def returns_opaque():
    return opaque()


@sy.step
def noop(previous: object = None) -> None:
    return None


@sy.pipeline
def branches():
    ends = []
    for branch in range(4):
        value = noop(branch)
        for _ in range(2):
            value = noop(value)
        ends.append(value)
    return tuple(ends)


@sy.step(cache=False)
def read_text(path: str) -> str:
    return Path(path).read_text()


@sy.step
def length(text: str, counter: str) -> int:
    bump(counter)
    return len(text)


@sy.pipeline
def measure(path: str, counter: str):
    return length(read_text(path), counter)


@sy.step
def echo(value: str) -> str:
    return value


@sy.pipeline
def unreliable(counter: str, failures: int):
    return {"flaky": echo(flaky(counter, failures)), "steady": total(numbers(3))}


@sy.step
def pid(tag: int) -> int:
    import os

    return os.getpid()


@sy.step
def pids(first: int, second: int) -> list[int]:
    import os

    return [first, second, os.getpid()]


@sy.pipeline
def where():
    return pids(pid(1), pid(2))


@sy.step(timeout=30)
def exits(code: int) -> int:
    import os

    os._exit(code)


@sy.pipeline
def crashing(code: int = 3):
    return exits(code)
