"""The local executor: steps in this process, in a pool of worker processes, or in a process of their own.

- A step that runs *alone* (nothing else running or ready, the usual case in a
  chain) runs right here, in the driver: no process to start, no message to send.
- Steps that are ready together (independent branches) go to a pool of worker
  processes, as many as there are cores, so they run in parallel.
- A step with a ``timeout`` runs in a process of its own, killed when it overruns.

Workers are forked from the driver on Linux (they start in milliseconds and know
every step of the driver, even those defined in ``__main__`` or inside a function);
elsewhere they are spawned and import the steps' modules by name.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.pipelines.execution import (
    Blobs,
    CallResult,
    ContentSpec,
    StepCall,
    execute,
    forget_opened,
    run_call,
)
from shipyard.pipelines.executor import Attempt, Executor


class LocalExecutor(Executor):
    """Runs steps on this machine; ``max_workers`` defaults to the number of cores."""

    name = "local"

    def __init__(self, max_workers: int | None = None, start_method: str | None = None) -> None:
        self.max_workers = max_workers or os.cpu_count() or 1
        self.start_method = start_method or ("fork" if sys.platform == "linux" else "spawn")
        self._pool: ProcessPoolExecutor | None = None
        self._processes: set[Any] = set()
        self._lock = threading.Lock()
        self._spec: ContentSpec | None = None
        self._blobs: Blobs | None = None

    def start(self, spec: ContentSpec, blobs: Blobs) -> None:
        self._spec, self._blobs = spec, blobs

    def submit(self, call: StepCall, timeout: float | None, alone: bool) -> Attempt:
        spec, blobs = self._ready()
        if timeout is not None:
            return self._own_process(call, spec)
        if alone:
            return Attempt.done(execute(call, blobs))
        try:
            return Attempt(self._workers().submit(run_call, call, spec))
        except BrokenProcessPool:  # a worker died (killed, out of memory): start a new pool
            self._shutdown_pool()
            return Attempt(self._workers().submit(run_call, call, spec))

    def close(self) -> None:
        self._shutdown_pool()
        with self._lock:
            processes, self._processes = list(self._processes), set()
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join()

    def _ready(self) -> tuple[ContentSpec, Blobs]:
        if self._spec is None or self._blobs is None:
            raise RuntimeError("LocalExecutor.start() was not called")
        return self._spec, self._blobs

    def _workers(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context(self.start_method)
                self._pool = ProcessPoolExecutor(
                    self.max_workers, mp_context=context, initializer=forget_opened
                )
            return self._pool

    def _shutdown_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _own_process(self, call: StepCall, spec: ContentSpec) -> Attempt:
        """Run the attempt in a new process; the attempt's cancel() kills it."""
        context: Any = multiprocessing.get_context(self.start_method)
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_attempt_main, args=(call, spec, sender), name=f"shipyard-step-{call.node}"
        )
        started = now_ms()
        process.start()
        sender.close()
        with self._lock:
            self._processes.add(process)
        future: Future[CallResult] = Future()

        def watch() -> None:
            try:
                result = receiver.recv()
            except (EOFError, OSError):
                process.join()
                result = CallResult(
                    call.node,
                    call.attempt,
                    started,
                    now_ms(),
                    error=f"the step's process ended with exit code {process.exitcode} before it returned",
                )
            finally:
                receiver.close()
            process.join()
            with self._lock:
                self._processes.discard(process)
            future.set_result(result)

        threading.Thread(target=watch, name=f"shipyard-watch-{call.node}", daemon=True).start()
        return Attempt(future, lambda: process.kill() if process.is_alive() else None)


def _attempt_main(call: StepCall, spec: ContentSpec, sender: Any) -> None:
    forget_opened()
    sender.send(run_call(call, spec))
    sender.close()
