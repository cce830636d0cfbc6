"""``shipyard monitors`` and ``shipyard alerts``: monitors of deployments, their results and alerts.

A monitor file (``shipyard monitors create monitor.yaml``)::

    name: fraud-drift
    deployment: fraud-svc
    reference: transactions@3
    window: 1h            # or a number of predictions
    cooldown: 1h
    checks:
      - {kind: feature_drift, critical: 0.5}
      - {kind: performance, metric: roc_auc, min: 0.85}
      - {kind: latency, p99_ms: 50}
    actions:
      - {kind: notify, webhook: "env:SLACK_WEBHOOK"}   # or the URL (shown redacted)
      - {kind: retrain, pipeline: "train:training", params: {epochs: 3}}
      - {kind: canary, promote_after: 3}

With ``SHIPYARD_URI=http(s)://...`` every command talks to the server (``/api/v1/monitors``,
``/api/v1/alerts``). Webhooks are shown redacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli import state
from shipyard.cli.output import (
    JsonFlag,
    add_row,
    human_time,
    make_table,
    print_json,
    print_table,
    status_text,
)
from shipyard.core.errors import InvalidInputError

app = typer.Typer(
    help="Monitors: drift, quality, performance and canaries of deployments.", no_args_is_help=True
)
alerts_app = typer.Typer(help="Alerts raised by monitors.", no_args_is_help=True)

_FIELDS = {"name", "deployment", "reference", "window", "cooldown", "checks", "actions"}


def load_monitor_file(path: Path) -> dict[str, Any]:
    """The keyword arguments of ``MonitorService.create`` from a monitor YAML file."""
    import yaml

    from shipyard.monitoring.actions import action_spec
    from shipyard.monitoring.checks import check_spec

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: a monitor file is a mapping with name, deployment, checks...")
    unknown = set(data) - _FIELDS
    if unknown:
        raise InvalidInputError(
            f"{path}: unknown keys {', '.join(sorted(unknown))}; known: {', '.join(sorted(_FIELDS))}"
        )
    for key in ("name", "deployment"):
        if key not in data:
            raise InvalidInputError(f"{path}: {key} is required")
    values = {k: v for k, v in data.items() if k not in ("checks", "actions")}
    values["checks"] = [check_spec(c) for c in data.get("checks") or []]
    values["actions"] = [action_spec(a) for a in data.get("actions") or []]
    return values


@app.command("create")
def create_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.yaml", help="The monitor's spec.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a monitor from a YAML file (a changed spec makes a new version)."""
    monitor = state(ctx).workspace.monitors.create(**load_monitor_file(file))
    if as_json:
        print_json(monitor.to_dict())
    else:
        typer.secho(
            f"monitor {monitor.name} version {monitor.version} watches {monitor.deployment}", fg="green"
        )


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every monitor (latest version)."""
    monitors = state(ctx).workspace.monitors.list()
    if as_json:
        print_json([m.to_dict() for m in monitors])
        return
    table = make_table("name", "version", "deployment", "reference", "window", "checks", "actions")
    for m in monitors:
        add_row(
            table,
            m.name,
            str(m.version),
            m.deployment,
            m.reference or "",
            m.window.to_text(),
            ", ".join(c.name for c in m.checks),
            ", ".join(a.kind for a in m.actions),
        )
    print_table(table)


@app.command("show")
def show_command(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The monitor.")], as_json: JsonFlag = False
) -> None:
    """A monitor's spec, its latest result and its firing alerts."""
    service = state(ctx).workspace.monitors
    monitor = service.get(name)
    results = service.results(name, 1)
    firing = service.alerts(name, "firing")
    if as_json:
        latest = results[0].to_dict() if results else None
        print_json({"monitor": monitor.to_dict(), "latest": latest, "firing": [a.to_dict() for a in firing]})
        return
    typer.echo(f"{monitor.name} v{monitor.version}: {monitor.deployment}, window {monitor.window.to_text()}")
    for action in monitor.actions:  # secrets (a webhook's path) redacted
        shown = action.public_dict()["params"]
        typer.echo(f"  action {action.kind}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    if results:
        print_result(results[0])
    else:
        typer.echo("not run yet")
    print_alerts(firing)


@app.command("run")
def run_command(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The monitor.")], as_json: JsonFlag = False
) -> None:
    """Evaluate the monitor's current window now."""
    result = state(ctx).workspace.monitors.run(name)
    if as_json:
        print_json(result.to_dict())
    else:
        print_result(result)


@app.command("report")
def report_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The monitor.")],
    html: Annotated[Path, typer.Option("--html", metavar="FILE", help="Where to write the HTML report.")],
) -> None:
    """Write an HTML report: per feature, reference and current histograms with the test and score."""
    html.write_text(state(ctx).workspace.monitors.report_html(name), encoding="utf-8")
    typer.secho(f"wrote {html}", fg="green")


@app.command("export-prometheus-rules")
def export_rules_command(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Default: stdout.")
    ] = None,
    for_: Annotated[str, typer.Option("--for", help="How long a rule must hold before it fires.")] = "5m",
) -> None:
    """Write Prometheus alert rules for every monitor's checks."""
    import yaml

    text = yaml.safe_dump(state(ctx).workspace.monitors.alert_rules(for_), sort_keys=False)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.secho(f"wrote {output}", fg="green")


@alerts_app.command("list")
def alerts_list_command(
    ctx: typer.Context,
    state_: Annotated[str | None, typer.Option("--state", help="firing or resolved.")] = None,
    monitor: Annotated[str | None, typer.Option("--monitor", help="Only this monitor's alerts.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Alerts, newest first."""
    alerts = state(ctx).workspace.monitors.alerts(monitor, state_)
    if as_json:
        print_json([a.to_dict() for a in alerts])
    else:
        print_alerts(alerts)


def print_result(result: Any) -> None:
    typer.echo(f"result {result.id}: {result.status}, {result.n_predictions} predictions")
    for note in result.notes:
        typer.echo(f"  note: {note}")
    table = make_table("check", "status", "value", "warning", "critical", "detail")
    for c in result.checks:
        add_row(
            table, c.name, status_text(c.status), _num(c.value), _num(c.warning), _num(c.critical), c.detail
        )
    if result.checks:
        print_table(table)
    for action in result.actions:
        typer.echo(f"  action {action['action']}: {action['status']} {action.get('detail') or ''}")


def print_alerts(alerts: list[Any]) -> None:
    table = make_table("monitor", "check", "severity", "state", "fired", "seen", "message")
    for a in alerts:
        add_row(
            table,
            a.monitor,
            a.check,
            status_text(a.severity),
            a.state,
            human_time(a.fired_at),
            str(a.count),
            a.message,
        )
    print_table(table)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
