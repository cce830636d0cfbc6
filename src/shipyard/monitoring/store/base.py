"""The interface of monitor storage: versioned monitor specs, results and alerts."""

from __future__ import annotations

from abc import ABC, abstractmethod

from shipyard.monitoring.monitor_models import Alert, Monitor, MonitorResult

__all__ = ["MonitorStore"]


class MonitorStore(ABC):
    """Where monitors, their results and their alerts are kept."""

    @abstractmethod
    def create_monitor(self, draft: Monitor) -> Monitor:
        """Store ``draft`` as the next version of its monitor (``version`` is assigned)."""

    @abstractmethod
    def get_monitor(self, name: str, version: int | None = None) -> Monitor:
        """The latest (or given) version; ``NotFoundError`` when there is none."""

    @abstractmethod
    def list_monitors(self) -> list[Monitor]:
        """The latest version of every monitor, by name."""

    @abstractmethod
    def add_result(self, result: MonitorResult, alerts: list[Alert]) -> None:
        """Store a result together with the alerts it fired, updated or resolved (one transaction)."""

    @abstractmethod
    def list_results(self, monitor: str, limit: int = 100) -> list[MonitorResult]:
        """Results of ``monitor``, newest first."""

    @abstractmethod
    def list_alerts(
        self, monitor: str | None = None, state: str | None = None, check: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Alerts, newest fired first, filtered by monitor, state and check."""

    def close(self) -> None:  # noqa: B027 - stores without resources have nothing to release
        """Release connections."""
