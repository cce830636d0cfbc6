"""The HTML report of a monitor (``shipyard monitors report NAME --html out.html``).

Per feature of the latest drift check: the reference's and the current window's
histograms side by side (one PNG, as a data URI), the test, the score, the p-value
and the threshold; then every performance figure over the stored results. Rendered
by Jinja2 with autoescape, so no text of the data can inject markup.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.monitoring.monitor_models import Alert, Monitor, MonitorResult
    from shipyard.monitoring.profiles import ColumnProfile, ReferenceProfile

__all__ = ["render_report"]

BINS = 20


def render_report(
    monitor: Monitor,
    results: list[MonitorResult],
    alerts: list[Alert],
    reference: ReferenceProfile | None,
    current: pd.DataFrame | None,
) -> str:
    """The report's HTML; ``results`` newest first, ``current`` the latest window's features."""
    import jinja2

    latest = results[0] if results else None
    features = _features(latest, reference, current) if latest is not None else []
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("shipyard.monitoring", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
    )
    template = environment.get_template("monitor_report.html.j2")
    return str(
        template.render(
            monitor=monitor,
            result=latest,
            features=features,
            alerts=alerts,
            performance_image=_performance_image(results),
            fmt=_fmt,
        )
    )


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _features(
    result: MonitorResult, reference: ReferenceProfile | None, current: pd.DataFrame | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    drift = next((c for c in result.checks if c.kind == "feature_drift"), None)
    if drift is None or reference is None:
        return out
    for column, figures in (drift.figures.get("columns") or {}).items():
        if column not in reference.columns:
            continue
        values = current[column] if current is not None and column in current else None
        out.append({"column": column, **figures, "image": _histograms(reference.columns[column], values)})
    return out


def _histograms(profile: ColumnProfile, current: pd.Series[Any] | None) -> str:
    from matplotlib.figure import Figure

    from shipyard.monitoring.profiles import NumericProfile

    figure = Figure(figsize=(7.0, 2.6))
    left, right = figure.subplots(1, 2, sharey=True)
    if isinstance(profile, NumericProfile):
        edges = np.array([profile.min, profile.max if profile.max > profile.min else profile.min + 1])
        cur_values = np.asarray([] if current is None else current.dropna(), dtype=float)
        lo, hi = (
            min(edges[0], cur_values.min(initial=edges[0])),
            max(edges[-1], cur_values.max(initial=edges[-1])),
        )
        edges = np.linspace(lo, hi, BINS + 1)
        ref = np.histogram(profile.sample, bins=edges)[0].astype(float)
        cur = np.histogram(cur_values, bins=edges)[0].astype(float)
        width, centers, labels = edges[1] - edges[0], (edges[:-1] + edges[1:]) / 2, None
    else:
        labels = [str(c) for c in profile.categories][:BINS]
        ref = np.asarray(profile.counts[:BINS], dtype=float)
        found = current.astype(str).value_counts() if current is not None else None
        cur = np.asarray([0 if found is None else found.get(c, 0) for c in labels], dtype=float)
        centers, width = np.arange(len(labels)), 0.8
    for axis, counts, title in ((left, ref, "reference"), (right, cur, "current")):
        total = counts.sum()
        axis.bar(centers, counts / total if total else counts, width=width, color="#4c78a8")
        axis.set_title(f"{profile.name}: {title}", fontsize=9)
        if labels is not None:
            axis.set_xticks(centers, labels, rotation=45, fontsize=7)
    figure.tight_layout()
    return _data_uri(figure)


def _performance_image(results: list[MonitorResult]) -> str | None:
    from matplotlib.figure import Figure

    series: dict[str, list[tuple[float, float]]] = {}
    for result in reversed(results):
        for check in result.checks:
            for version, value in (check.figures.get("by_version") or {}).items():
                series.setdefault(f"{check.name} {version}", []).append((result.window_end / 1000, value))
    if not series:
        return None
    figure = Figure(figsize=(7.0, 3.0))
    axis = figure.subplots()
    for label, points in series.items():
        xs, ys = zip(*points, strict=True)
        axis.plot(xs, ys, marker="o", label=label)
    axis.set_xlabel("window end (s since epoch)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    return _data_uri(figure)


def _data_uri(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
