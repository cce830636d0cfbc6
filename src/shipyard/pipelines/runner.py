"""The driver of one pipeline run: what is ready, what is cached, retries, timeouts, skips.

The runner walks the graph in its topological order. A node is *ready* when every
node it reads from has outputs. A ready node's cache key is computed from its code,
arguments and input digests; if the run being resumed made it with the same key,
or the cache holds it, its outputs are reused and it never runs. Otherwise an
attempt goes to the executor. A failed or timed-out attempt is retried after an
exponential backoff up to the step's ``retries``; after the last one the node
fails and everything downstream of it is skipped, while independent branches go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.pipelines.caching import cache_key
from shipyard.pipelines.execution import Blobs, CallResult, StepCall
from shipyard.pipelines.executor import Attempt, Executor
from shipyard.pipelines.graph import Graph, Node
from shipyard.pipelines.materializers import get_materializer
from shipyard.pipelines.models import CacheEntry, OutputRef, PipelineStatus, StepRun, StepStatus
from shipyard.pipelines.recording import Recorder

FindCache = Callable[[list[str]], Mapping[str, CacheEntry]]


@dataclass
class _Running:
    node: str
    attempt: Attempt
    number: int
    deadline: float | None


class Runner:
    """Runs the nodes of ``graph`` on ``executor``, writing progress through ``recorder``."""

    def __init__(
        self,
        graph: Graph,
        params: Mapping[str, Any],
        executor: Executor,
        blobs: Blobs,
        recorder: Recorder,
        *,
        steps: Mapping[str, StepRun],
        use_cache: bool = True,
        find_cache: FindCache | None = None,
        reuse: Mapping[str, StepRun] | None = None,
    ) -> None:
        self.graph = graph
        self.params = dict(params)
        self.executor = executor
        self.blobs = blobs
        self.recorder = recorder
        self.use_cache = use_cache
        self.find_cache = find_cache
        self.reuse = dict(reuse or {})
        self.steps: dict[str, StepRun] = dict(steps)
        self.pending: list[str] = list(graph.nodes)
        self.order = {name: i for i, name in enumerate(graph.nodes)}
        self.below: dict[str, list[str]] = {name: [] for name in graph.nodes}  # direct downstream nodes
        for node in graph.nodes.values():
            for up in node.upstream:
                self.below[up].append(node.name)
        # How many of its upstream nodes each pending node still waits for; 0 means ready.
        self.waiting = {name: len(node.upstream) for name, node in graph.nodes.items()}
        self.running: dict[Future[CallResult], _Running] = {}
        self.retry_at: dict[str, float] = {}
        self.checked: set[str] = set()  # nodes looked up in the cache and not found there

    # -- the loop ------------------------------------------------------------------
    def run(self) -> PipelineStatus:
        """Run until every node has succeeded, been reused, failed or been skipped."""
        try:
            while True:
                self._start_ready()
                if not self.running and not self.retry_at:
                    break
                if not self.running:  # only retries waiting for their backoff
                    time.sleep(self._wait_s() or 0.0)
                    continue
                done, _ = wait(list(self.running), timeout=self._wait_s(), return_when=FIRST_COMPLETED)
                for future in done:
                    self._finished(self.running.pop(future), future)
                self._enforce_timeouts()
        finally:
            for running in self.running.values():
                running.attempt.cancel()
        failed = any(s.status is StepStatus.FAILED for s in self.steps.values())
        return PipelineStatus.FAILED if failed or self.pending else PipelineStatus.SUCCEEDED

    def _wait_s(self) -> float | None:
        now = time.monotonic()
        times = [r.deadline for r in self.running.values() if r.deadline is not None]
        times += self.retry_at.values()
        return max(min(times) - now, 0.0) if times else None

    def _start_ready(self) -> None:
        """Reuse or submit every ready node (reusing one may make others ready, hence the loop)."""
        while True:
            now = time.monotonic()
            ready = [n for n in self.pending if not self.waiting[n] and self.retry_at.get(n, 0.0) <= now]
            to_run = [n for n in ready if not self._reused(n)]
            if len(to_run) == len(ready):
                break
        alone = len(to_run) == 1 and not self.running
        for name in to_run:
            self._submit(name, alone)

    def _outputs_made(self, name: str) -> None:
        """Node ``name`` has its outputs: the nodes below it wait for one node less."""
        for below in self.below[name]:
            self.waiting[below] -= 1

    # -- cache and reuse -------------------------------------------------------------
    def _reused(self, name: str) -> bool:
        """Take the node's outputs from the run being resumed or from the cache, if there."""
        if name in self.checked:
            return False
        self.checked.add(name)
        node = self.graph.nodes[name]
        step = self.steps[name]
        if step.cache_key is None:
            step = self._set(replace(step, cache_key=cache_key(node, self.params, self._inputs(node))))
        key = step.cache_key or ""
        earlier = self.reuse.get(name)
        if earlier is not None and earlier.cache_key == key and self._stored(earlier.outputs):
            return self._cached(name, earlier.outputs)
        if not (self.use_cache and node.step.options.cache and self.find_cache is not None):
            return False
        entry = self.find_cache([key]).get(key)
        if entry is None or not self._stored(entry.outputs):
            return False
        return self._cached(name, entry.outputs)

    def _stored(self, outputs: Mapping[str, OutputRef]) -> bool:
        """Whether every output is still in the store, readable by an installed materialiser."""
        try:
            for ref in outputs.values():
                get_materializer(ref.materializer)
        except Exception:
            return False
        return all(self.blobs.exists(ref.digest) for ref in outputs.values())

    def _cached(self, name: str, outputs: Mapping[str, OutputRef]) -> bool:
        at = now_ms()
        step = self.steps[name]
        self._set(
            replace(
                step,
                status=StepStatus.CACHED,
                cache_hit=True,
                started_at=at,
                ended_at=at,
                duration_ms=0,
                inputs=self._input_digests(self.graph.nodes[name]),
                outputs=dict(outputs),
                error=None,
            )
        )
        self.pending.remove(name)
        self._outputs_made(name)
        return True

    # -- attempts --------------------------------------------------------------------
    def _submit(self, name: str, alone: bool) -> None:
        node = self.graph.nodes[name]
        step = self.steps[name]
        number = step.attempts + 1
        started = step.started_at or now_ms()
        self._set(replace(step, status=StepStatus.RUNNING, attempts=number, started_at=started))
        self.pending.remove(name)
        self.retry_at.pop(name, None)
        call = StepCall.of(node, number, self.params, self._inputs(node), by_value=self.executor.by_value)
        timeout = node.step.options.timeout
        attempt = self.executor.submit(call, timeout, alone)
        deadline = None if timeout is None else time.monotonic() + timeout
        self.running[attempt.future] = _Running(name, attempt, number, deadline)

    def _finished(self, running: _Running, future: Future[CallResult]) -> None:
        try:
            result = future.result()
        except Exception as exc:  # the executor failed (a worker died, Ray lost a task...)
            at = now_ms()
            result = CallResult(running.node, running.number, at, at, error=f"{type(exc).__name__}: {exc}")
        if result.ok:
            self._succeeded(running.node, result)
        else:
            self._attempt_failed(running.node, result.error or "failed", result.retryable)

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for future, running in list(self.running.items()):
            if running.deadline is not None and now >= running.deadline and not future.done():
                del self.running[future]
                running.attempt.cancel()
                timeout = self.graph.nodes[running.node].step.options.timeout
                self._attempt_failed(
                    running.node, f"timed out after {timeout:g} s (attempt {running.number})", True
                )

    def _succeeded(self, name: str, result: CallResult) -> None:
        node = self.graph.nodes[name]
        step = self.steps[name]
        ended = now_ms()
        done = replace(
            step,
            status=StepStatus.SUCCEEDED,
            ended_at=ended,
            duration_ms=ended - (step.started_at or ended),
            inputs=self._input_digests(node),
            outputs=result.outputs,
            error=None,
        )
        entry = None
        if node.step.options.cache and done.cache_key:
            entry = CacheEntry(
                done.cache_key, node.step.qualname, result.outputs, step.pipeline_run_id, ended
            )
        self._set(done, entry)
        self._outputs_made(name)

    def _attempt_failed(self, name: str, error: str, retryable: bool) -> None:
        options = self.graph.nodes[name].step.options
        step = self.steps[name]
        if retryable and step.attempts <= options.retries:
            self._set(replace(step, status=StepStatus.PENDING, error=error))
            self.pending.append(name)
            self.pending.sort(key=self.order.__getitem__)
            self.retry_at[name] = time.monotonic() + options.retry_wait(step.attempts)
            return
        ended = now_ms()
        self._set(
            replace(
                step,
                status=StepStatus.FAILED,
                ended_at=ended,
                duration_ms=ended - (step.started_at or ended),
                error=error,
            )
        )
        for below in self.graph.downstream(name):
            if below in self.pending:
                self.pending.remove(below)
                self._set(
                    replace(
                        self.steps[below], status=StepStatus.SKIPPED, error=f"skipped: step {name!r} failed"
                    )
                )

    # -- helpers ---------------------------------------------------------------------
    def _inputs(self, node: Node) -> dict[str, OutputRef]:
        return {ref.key: self.steps[ref.node].outputs[ref.output] for ref in node.refs}

    def _input_digests(self, node: Node) -> dict[str, str]:
        return {key: ref.digest for key, ref in self._inputs(node).items()}

    def _set(self, step: StepRun, cache: CacheEntry | None = None) -> StepRun:
        self.steps[step.node] = step
        self.recorder.update(step, cache)
        return step
