"""The interface of monitor storage: versioned monitor specs, results and alerts.

What every backend promises, even to writers in other processes (the contract suite in
``tests/contract/monitor_contract.py`` checks it on memory, SQLite and PostgreSQL):

- a monitor's versions are numbered 1, 2, 3... with no gap and no duplicate, and a draft
  whose content equals the latest version's writes nothing (the latest is returned), so
  concurrent creates of one spec make one version;
- a result and the alerts it wrote are stored in one transaction; alerts are upserted by
  id (a de-duplicated or re-opened alert stays one record);
- at most one alert per (monitor, check) is ``firing``: a result that would make a
  second one is refused whole with ``ConflictError``;
- a result is stored only if the alerts its evaluation read (``read``) are still as they
  were: else it is refused whole with ``ConflictError``, so two racing evaluations never
  both count, escalate or resolve one alert. On either refusal the caller works the
  alerts out again against what is stored now.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from shipyard.monitoring.monitor_models import Alert, Monitor, MonitorResult

__all__ = ["MonitorStore"]


class MonitorStore(ABC):
    """Where monitors, their results and their alerts are kept."""

    @abstractmethod
    def create_monitor(self, draft: Monitor) -> Monitor:
        """Store ``draft`` as the next version of its monitor (``version`` is assigned), or return
        the latest version unchanged when its content equals the draft's."""

    @abstractmethod
    def get_monitor(self, name: str, version: int | None = None) -> Monitor:
        """The latest (or given) version; ``NotFoundError`` when there is none."""

    @abstractmethod
    def list_monitors(self) -> list[Monitor]:
        """The latest version of every monitor, by name."""

    @abstractmethod
    def add_result(self, result: MonitorResult, alerts: list[Alert], read: Sequence[Alert] = ()) -> None:
        """Store a result together with the alerts it fired, updated or resolved (one transaction).

        ``ConflictError``, nothing written, if an alert would be a second firing one of its
        check, or if one of the alerts ``read`` by the evaluation changed since."""

    @abstractmethod
    def update_result(self, result: MonitorResult) -> None:
        """Replace the stored result of the same id (what its actions did); ``NotFoundError`` if none."""

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


def firing_conflict(alerts: list[Alert], firing: dict[tuple[str, str], str]) -> str | None:
    """Why writing ``alerts`` would leave two firing alerts of one check (None if it would not).

    ``firing`` maps (monitor, check) to the id of the stored firing alert.
    """
    claimed = dict(firing)
    for alert in alerts:
        key = (alert.monitor, alert.check)
        holder = claimed.get(key)
        if alert.state != "firing":
            if holder == alert.id:
                del claimed[key]
            continue
        if holder is not None and holder != alert.id:
            return (
                f"check {alert.check!r} of monitor {alert.monitor!r} already has a firing alert "
                f"({holder}): it was evaluated meanwhile; evaluate again"
            )
        claimed[key] = alert.id
    return None


def stale_alert(read: Sequence[Alert], stored: dict[str, Alert]) -> str | None:
    """Why the alerts ``read`` by an evaluation are stale (None if each is stored as read)."""
    for alert in read:
        if stored.get(alert.id) != alert:
            return (
                f"alert {alert.id} of check {alert.check!r} of monitor {alert.monitor!r} changed since "
                "it was read: the monitor was evaluated meanwhile; evaluate again"
            )
    return None
