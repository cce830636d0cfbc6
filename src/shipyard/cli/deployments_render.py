"""What ``shipyard deploy`` and ``shipyard deployments`` print: tables and ``--json`` documents.

``--json`` documents are the REST API's shapes with every time given twice, as ISO-8601
text and as ``<name>_ms`` (see :mod:`shipyard.cli.output`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer
from rich.text import Text

from shipyard.cli.output import add_row, human_time, make_table, print_fields, print_table, time_fields

if TYPE_CHECKING:
    from shipyard.serving.models import Deployment, DeploymentSpec, Route, RouteStatus

STATE_STYLES = {"ready": "green", "loading": "cyan", "failed": "red"}


# -- --json documents ------------------------------------------------------------------------
def spec_doc(spec: DeploymentSpec) -> dict[str, Any]:
    doc = spec.to_dict()
    doc.update(time_fields("created_at", spec.created_at))
    return doc


def status_doc(status: RouteStatus) -> dict[str, Any]:
    return {**status.to_dict(), **time_fields("updated_at", status.updated_at)}


def deployment_doc(
    deployment: Deployment, resolved: Mapping[str, str] | None = None, problem: str | None = None
) -> dict[str, Any]:
    """The deployment's spec, and per route what it resolves to now and what the data plane reported."""
    routes = []
    for route in deployment.spec.routes:
        status = deployment.statuses.get(route.name)
        entry = {**route.to_dict(), "status": None if status is None else status_doc(status)}
        if resolved is not None:
            entry["resolved"] = resolved.get(route.name)
        routes.append(entry)
    doc: dict[str, Any] = {"name": deployment.name, "spec": spec_doc(deployment.spec), "routes": routes}
    if resolved is not None:
        doc["resolve_error"] = problem
    return doc


# -- lines and tables --------------------------------------------------------------------
def route_text(route: Route) -> str:
    """``primary fraud@production 90%`` (a shadow has no weight)."""
    if route.shadow:
        return f"{route.name} {route.model} (shadow)"
    return f"{route.name} {route.model} {route.weight:g}%"


def spec_line(spec: DeploymentSpec) -> str:
    return ", ".join(route_text(r) for r in spec.routes)


def _state(statuses: Mapping[str, RouteStatus], routes: Sequence[Route]) -> Text:
    """The worst state reported across the routes (``failed`` > ``loading`` > ``ready``), or ``-``."""
    states = [statuses[r.name].state for r in routes if r.name in statuses]
    for state in ("failed", "loading", "ready"):
        if state in states:
            return Text(state, style=STATE_STYLES[state])
    return Text("-")


def print_deployments(deployments: Sequence[Deployment]) -> None:
    if not deployments:
        typer.echo("no deployments yet: shipyard deploy NAME --model MODEL@ALIAS")
        return
    table = make_table("name", "version", "routes", "state", "updated", "by")
    for d in deployments:
        spec = d.spec
        add_row(
            table,
            d.name,
            str(spec.version),
            spec_line(spec),
            _state(d.statuses, spec.routes),
            human_time(spec.created_at),
            spec.created_by,
        )
    print_table(table, f"{len(deployments)} deployment{'' if len(deployments) == 1 else 's'}")


def print_deployment(deployment: Deployment, resolved: Mapping[str, str], problem: str | None) -> None:
    spec = deployment.spec
    batching = (
        "off"
        if spec.batching is None
        else (f"up to {spec.batching.max_batch_size} requests, {spec.batching.max_wait_ms:g} ms")
    )
    print_fields(
        f"Deployment {deployment.name}",
        [
            ("version", str(spec.version)),
            ("deployed", f"{human_time(spec.created_at)} by {spec.created_by}"),
            ("reason", spec.reason or "-"),
            ("features", spec.features or "-"),
            ("batching", batching),
            ("routing key", spec.routing_key or "random"),
        ],
    )
    table = make_table("route", "mode", "weight", "model", "resolves to", "serving", "state", "error")
    for route in spec.routes:
        status = deployment.statuses.get(route.name)
        state = Text("-") if status is None else Text(status.state, style=STATE_STYLES.get(status.state, ""))
        add_row(
            table,
            route.name,
            route.mode,
            "-" if route.shadow else f"{route.weight:g}%",
            route.model,
            resolved.get(route.name, "-"),
            "-" if status is None or status.model_version is None else status.model_version,
            state,
            "" if status is None or status.error is None else status.error,
        )
    print_table(table, "Routes")
    if problem is not None:
        print_fields("Cannot resolve", [("error", Text(problem, style="red"))])


def print_history(history: Sequence[DeploymentSpec]) -> None:
    table = make_table("version", "when", "by", "routes", "reason")
    for spec in history:
        add_row(
            table,
            str(spec.version),
            human_time(spec.created_at),
            spec.created_by,
            spec_line(spec),
            spec.reason or "",
        )
    print_table(table)
