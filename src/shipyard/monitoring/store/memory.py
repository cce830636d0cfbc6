"""Monitor storage in a process's memory (tests, ``memory:`` URIs).

Results are kept as their JSON, as the SQL store keeps them, so both read back alike.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Sequence
from typing import Any

import orjson

from shipyard.core.errors import ConflictError, NotFoundError
from shipyard.monitoring.monitor_models import Alert, Monitor, MonitorResult
from shipyard.monitoring.store.base import MonitorStore, firing_conflict, stale_alert

__all__ = ["MemoryMonitorStore"]


class MemoryMonitorStore(MonitorStore):
    def __init__(self, uri: str = "memory://") -> None:
        self._monitors: dict[str, list[Monitor]] = {}
        self._results: dict[str, MonitorResult] = {}
        self._alerts: dict[str, Alert] = {}
        self._lock = threading.Lock()

    def create_monitor(self, draft: Monitor) -> Monitor:
        with self._lock:
            versions = self._monitors.setdefault(draft.name, [])
            if versions and _json(versions[-1].content()) == _json(draft.content()):
                return versions[-1]
            done = dataclasses.replace(draft, version=len(versions) + 1)
            versions.append(done)
            return done

    def get_monitor(self, name: str, version: int | None = None) -> Monitor:
        with self._lock:
            versions = self._monitors.get(name, [])
            if not versions or (version is not None and not 1 <= version <= len(versions)):
                what = f"monitor {name!r}" + ("" if version is None else f" version {version}")
                raise NotFoundError(f"no {what}")
            return versions[-1] if version is None else versions[version - 1]

    def list_monitors(self) -> list[Monitor]:
        with self._lock:
            return [self._monitors[n][-1] for n in sorted(self._monitors)]

    def add_result(self, result: MonitorResult, alerts: list[Alert], read: Sequence[Alert] = ()) -> None:
        with self._lock:
            if result.id in self._results:
                raise ConflictError(f"a monitor result with id {result.id} is already stored")
            firing = {(a.monitor, a.check): a.id for a in self._alerts.values() if a.state == "firing"}
            conflict = stale_alert(read, self._alerts) or firing_conflict(alerts, firing)
            if conflict is not None:
                raise ConflictError(conflict)
            self._results[result.id] = _copy(result)
            for alert in alerts:
                finite = alert.value is None or math.isfinite(alert.value)
                self._alerts[alert.id] = alert if finite else dataclasses.replace(alert, value=None)

    def update_result(self, result: MonitorResult) -> None:
        with self._lock:
            if result.id not in self._results:
                raise NotFoundError(f"no monitor result {result.id}")
            self._results[result.id] = _copy(result)

    def list_results(self, monitor: str, limit: int = 100) -> list[MonitorResult]:
        with self._lock:
            found = [r for r in self._results.values() if r.monitor == monitor]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return found[: max(1, limit)]

    def list_alerts(
        self, monitor: str | None = None, state: str | None = None, check: str | None = None, limit: int = 100
    ) -> list[Alert]:
        with self._lock:
            found = [
                a
                for a in self._alerts.values()
                if (monitor is None or a.monitor == monitor)
                and (state is None or a.state == state)
                and (check is None or a.check == check)
            ]
        found.sort(key=lambda a: (a.fired_at, a.id), reverse=True)
        return found[: max(1, limit)]


def _json(content: dict[str, Any]) -> Any:
    """``content`` as it reads back from JSON (tuples as lists)."""
    return orjson.loads(orjson.dumps(content))


def _copy(result: MonitorResult) -> MonitorResult:
    """``result`` as it reads back from JSON (what the SQL store keeps)."""
    return MonitorResult.from_dict(orjson.loads(result.to_json()))
