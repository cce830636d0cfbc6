"""Monitor storage in a process's memory (tests, ``memory:`` URIs)."""

from __future__ import annotations

import dataclasses
import threading

from shipyard.core.errors import NotFoundError
from shipyard.monitoring.monitor_models import Alert, Monitor, MonitorResult
from shipyard.monitoring.store.base import MonitorStore

__all__ = ["MemoryMonitorStore"]


class MemoryMonitorStore(MonitorStore):
    def __init__(self, uri: str = "memory://") -> None:
        self._monitors: dict[str, list[Monitor]] = {}
        self._results: list[MonitorResult] = []
        self._alerts: dict[str, Alert] = {}
        self._lock = threading.Lock()

    def create_monitor(self, draft: Monitor) -> Monitor:
        with self._lock:
            versions = self._monitors.setdefault(draft.name, [])
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

    def add_result(self, result: MonitorResult, alerts: list[Alert]) -> None:
        with self._lock:
            self._results.append(result)
            for alert in alerts:
                self._alerts[alert.id] = alert

    def list_results(self, monitor: str, limit: int = 100) -> list[MonitorResult]:
        with self._lock:
            found = [r for r in self._results if r.monitor == monitor]
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
