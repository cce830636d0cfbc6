"""Monitors as Prometheus gauges, and the alert rules that watch them.

The gauges come from each monitor's latest result (and the alerts still firing) when
``/metrics`` is scraped:

===========================================  ============================================================
``shipyard_monitor_check_value``             a check's value (drift share, metric, p99 ms...), by
                                             ``monitor``, ``check``, ``kind``
``shipyard_monitor_check_status``            0 ok, 1 warning, 2 critical (-1 skipped), by monitor, check
``shipyard_monitor_drift_score``             each column's drift statistic, by monitor, check, column,
                                             test
``shipyard_monitor_drift_p_value``           its p-value (tests that have one)
``shipyard_monitor_column_drifted``          1 when the column drifted
``shipyard_monitor_quality_value``           each data-quality figure (null rate, out-of-range share,
                                             unseen share), by monitor, column, quality_check
``shipyard_monitor_quality_failed``          1 when that quality check failed
``shipyard_monitor_performance``             realised or estimated metric per model version, by
                                             monitor, check, metric, model_version
``shipyard_monitor_predictions``             predictions in the last window
``shipyard_monitor_last_run_timestamp_seconds``  when the monitor last ran
``shipyard_monitor_alert_firing``            1 per firing alert, by monitor, check, severity
===========================================  ============================================================

:func:`alert_rules` writes a Prometheus rules file (``groups:``) with one warning and
one critical rule per check of every monitor, on ``shipyard_monitor_check_status``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client.core import GaugeMetricFamily

    from shipyard.monitoring.monitor_models import Alert, Monitor, MonitorResult

__all__ = ["METRICS", "MonitorCollector", "alert_rules", "render_metrics"]

_STATUS = {"skipped": -1, "ok": 0, "warning": 1, "critical": 2}
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "shipyard_monitor_check_value": ("The value of a monitor's check.", ("monitor", "check", "kind")),
    "shipyard_monitor_check_status": ("0 ok, 1 warning, 2 critical, -1 skipped.", ("monitor", "check")),
    "shipyard_monitor_drift_score": (
        "Drift statistic of a column.",
        ("monitor", "check", "column", "test"),
    ),
    "shipyard_monitor_drift_p_value": (
        "P-value of a column's drift test.",
        ("monitor", "check", "column", "test"),
    ),
    "shipyard_monitor_column_drifted": ("1 when the column drifted.", ("monitor", "check", "column")),
    "shipyard_monitor_quality_value": (
        "A data-quality figure of a column.",
        ("monitor", "column", "quality_check"),
    ),
    "shipyard_monitor_quality_failed": (
        "1 when the quality check failed.",
        ("monitor", "column", "quality_check"),
    ),
    "shipyard_monitor_performance": (
        "Realised or estimated performance per model version.",
        ("monitor", "check", "metric", "model_version"),
    ),
    "shipyard_monitor_predictions": ("Predictions in the monitor's last window.", ("monitor",)),
    "shipyard_monitor_last_run_timestamp_seconds": ("When the monitor last ran.", ("monitor",)),
    "shipyard_monitor_alert_firing": ("1 per firing alert.", ("monitor", "check", "severity")),
}


class MonitorCollector:
    """A prometheus_client collector over ``(monitor, latest result or None)`` pairs and firing alerts."""

    def __init__(self, latest: list[tuple[Monitor, MonitorResult | None]], firing: list[Alert]) -> None:
        self.latest = latest
        self.firing = firing

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from prometheus_client.core import GaugeMetricFamily

        families = {
            name: GaugeMetricFamily(name, doc, labels=list(labels)) for name, (doc, labels) in METRICS.items()
        }
        for monitor, result in self.latest:
            if result is not None:
                _add_result(families, monitor.name, result)
        for alert in self.firing:
            families["shipyard_monitor_alert_firing"].add_metric(
                [alert.monitor, alert.check, alert.severity], 1
            )
        yield from families.values()


def _add_result(families: dict[str, Any], name: str, result: MonitorResult) -> None:
    families["shipyard_monitor_predictions"].add_metric([name], result.n_predictions)
    families["shipyard_monitor_last_run_timestamp_seconds"].add_metric([name], result.created_at / 1000)
    for check in result.checks:
        families["shipyard_monitor_check_status"].add_metric([name, check.name], _STATUS[check.status])
        if check.value is not None:
            families["shipyard_monitor_check_value"].add_metric([name, check.name, check.kind], check.value)
        figures = check.figures
        for column, drift in (figures.get("columns") or {}).items():
            labels = [name, check.name, column, str(drift["test"])]
            if drift.get("statistic") is not None:
                families["shipyard_monitor_drift_score"].add_metric(labels, drift["statistic"])
            if drift.get("p_value") is not None:
                families["shipyard_monitor_drift_p_value"].add_metric(labels, drift["p_value"])
            families["shipyard_monitor_column_drifted"].add_metric(labels[:3], 1 if drift["drifted"] else 0)
        for quality in figures.get("checks") or []:
            labels = [name, quality["column"], quality["check"]]
            if quality.get("current") is not None:
                families["shipyard_monitor_quality_value"].add_metric(labels, quality["current"])
            families["shipyard_monitor_quality_failed"].add_metric(labels, 1 if quality["failed"] else 0)
        for version, value in (figures.get("by_version") or {}).items():
            metric = str(figures.get("metric", check.kind))
            families["shipyard_monitor_performance"].add_metric([name, check.name, metric, version], value)


def render_metrics(latest: list[tuple[Monitor, MonitorResult | None]], firing: list[Alert]) -> bytes:
    """The exposition text of the gauges (a registry of its own per scrape)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(latest, firing))
    return bytes(generate_latest(registry))


def alert_rules(monitors: list[Monitor], for_: str = "5m") -> dict[str, Any]:
    """A Prometheus rules document: per check, a warning rule (status 1) and a critical one (status 2)."""
    rules: list[dict[str, Any]] = []
    for monitor in monitors:
        for check in monitor.checks:
            selector = f'shipyard_monitor_check_status{{monitor="{monitor.name}",check="{check.name}"}}'
            for severity, expr in (("warning", f"{selector} == 1"), ("critical", f"{selector} >= 2")):
                rules.append(
                    {
                        "alert": _alert_name(monitor.name, check.name, severity),
                        "expr": expr,
                        "for": for_,
                        "labels": {"severity": severity, "monitor": monitor.name, "check": check.name},
                        "annotations": {
                            "summary": f"{monitor.name}: {check.name} is {severity}",
                            "description": f"Shipyard monitor {monitor.name} of {monitor.deployment}: "
                            f"check {check.name} ({check.kind}) is {severity}; value "
                            "{{ $value }}. See `shipyard monitors show " + monitor.name + "`.",
                        },
                    }
                )
        rules.append(
            {
                "alert": _alert_name(monitor.name, "stale", "warning"),
                "expr": f'time() - shipyard_monitor_last_run_timestamp_seconds{{monitor="{monitor.name}"}} '
                f"> {max(3 * (monitor.window.ms or 3_600_000) // 1000, 60)}",
                "for": for_,
                "labels": {"severity": "warning", "monitor": monitor.name},
                "annotations": {"summary": f"monitor {monitor.name} has not run for three windows"},
            }
        )
    return {"groups": [{"name": "shipyard-monitors", "rules": rules}]}


def _alert_name(monitor: str, check: str, severity: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in f"{monitor} {check}").split() if w]
    return "Shipyard" + "".join(w[:1].upper() + w[1:] for w in words) + severity.capitalize()
