"""The Ray executor: each attempt of each step is a Ray task.

Tasks read their inputs from and write their outputs to the artifact store, by
digest; only the small call and result messages go through Ray. Ray is used as it
is found: if ``ray.init()`` was called, its cluster; otherwise ``ray.init()`` is
called here, which joins the cluster named by ``RAY_ADDRESS`` or starts a local one.

The artifact store must be reachable from every node: on one machine the local
artifacts folder is; across machines use ``s3://`` artifacts (``SHIPYARD_ARTIFACTS_URI``).
Steps travel by value (the step modules outside site-packages are registered with
Ray's cloudpickle), so workers need Shipyard and the steps' libraries, not the
project's own modules.
"""

from __future__ import annotations

import sys
import sysconfig
import threading
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.execution import Blobs, ContentSpec, StepCall, run_call
from shipyard.pipelines.executor import Attempt, Executor

_INSTALLED = tuple({sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")})


class RayExecutor(Executor):
    """Runs every attempt as a Ray task of ``num_cpus``; ``init``: ``ray.init`` options if Ray starts here."""

    name = "ray"
    by_value = True

    def __init__(self, num_cpus: float = 1, **init: Any) -> None:
        self.num_cpus = num_cpus
        self.init = init
        self._remote: Any = None
        self._spec: ContentSpec | None = None
        self._by_value: set[str] = set()
        self._lock = threading.Lock()

    def start(self, spec: ContentSpec, blobs: Blobs) -> None:
        try:
            import ray
        except ImportError as exc:
            raise InvalidInputError("the ray executor needs Ray: pip install 'shipyard[ray]'") from exc
        if not ray.is_initialized():
            ray.init(**self.init)
        self._spec = spec
        self._remote = ray.remote(run_call).options(num_cpus=self.num_cpus, max_retries=0)

    def submit(self, call: StepCall, timeout: float | None, alone: bool) -> Attempt:
        import ray

        if self._remote is None or self._spec is None:
            raise RuntimeError("RayExecutor.start() was not called")
        if call.step is not None:
            self._send_by_value(call.step.module)
        ref = self._remote.remote(call, self._spec)
        return Attempt(ref.future(), lambda: ray.cancel(ref, force=True))

    def _send_by_value(self, module_name: str) -> None:
        """Pickle the step's module by value, unless it is installed (workers import those)."""
        with self._lock:
            if module_name in self._by_value:
                return
            self._by_value.add(module_name)
        module = sys.modules.get(module_name)
        path = str(getattr(module, "__file__", "") or "")
        if module is None or module_name == "__main__" or not path or path.startswith(_INSTALLED):
            return
        from ray import cloudpickle

        cloudpickle.register_pickle_by_value(module)  # type: ignore[no-untyped-call]
