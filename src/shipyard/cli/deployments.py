"""``shipyard deploy`` and ``shipyard deployments``: versioned deployment specs and their routes.

A route names a registered model: ``fraud@production`` follows the alias,
``fraud:7`` pins a version. ``--canary fraud:7=10%`` takes 10% of the traffic from the
primary; ``--ab fraud:5=50%,fraud:6=50%`` replaces it; ``--shadow fraud:8`` gets a copy
of every request and answers none. Every change is a new version of the spec, kept in
``shipyard deployments history``. ``shipyard serve`` runs the data plane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli import state
from shipyard.cli.deployments_render import (
    deployment_doc,
    print_deployment,
    print_deployments,
    print_history,
    spec_doc,
    spec_line,
)
from shipyard.cli.output import JsonFlag, print_json

if TYPE_CHECKING:
    from shipyard.serving.service import ServingService

app = typer.Typer(
    help="Deployments: versioned specs of routes (primary, canary, A/B, shadow).", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The deployment's name.")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", "-r", metavar="TEXT", help="Why (kept in the history).")
]


def _serving(ctx: typer.Context) -> ServingService:
    return state(ctx).workspace.serving


def deploy_command(
    ctx: typer.Context,
    name: NameArg,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            metavar="MODEL",
            help="The primary route: NAME@ALIAS (followed) or NAME:V (pinned).",
        ),
    ] = None,
    canary: Annotated[
        list[str] | None,
        typer.Option(
            "--canary", metavar="MODEL=W%", help="A canary taking W% from the primary (repeatable)."
        ),
    ] = None,
    shadow: Annotated[
        list[str] | None,
        typer.Option("--shadow", metavar="MODEL", help="A shadow: a copy of every request, never answering."),
    ] = None,
    ab: Annotated[
        str | None,
        typer.Option(
            "--ab", metavar="M=W%,M=W%", help="A/B routes replacing the primary; weights sum to 100."
        ),
    ] = None,
    features: Annotated[
        str | None, typer.Option("--features", metavar="SERVICE", help="Feature service for online features.")
    ] = None,
    max_batch_size: Annotated[
        int | None, typer.Option("--max-batch-size", metavar="N", help="Micro-batch size (default 64).")
    ] = None,
    max_wait_ms: Annotated[
        float | None, typer.Option("--max-wait-ms", metavar="MS", help="Micro-batch wait (default 2).")
    ] = None,
    routing_key: Annotated[
        str | None,
        typer.Option("--routing-key", metavar="FIELD", help="Request field for sticky route assignment."),
    ] = None,
    reason: ReasonOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Deploy registered models as NAME: a new version of its spec (nothing if unchanged)."""
    batching = None
    if max_batch_size is not None or max_wait_ms is not None:
        batching = {
            "max_batch_size": 64 if max_batch_size is None else max_batch_size,
            "max_wait_ms": 2.0 if max_wait_ms is None else max_wait_ms,
        }
    serving = _serving(ctx)
    before = serving.history(name)[-1].version if _exists(serving, name) else 0
    spec = serving.deploy(name, model, canary, shadow, ab, features, batching, routing_key, reason)
    if as_json:
        print_json({**spec_doc(spec), "created": spec.version != before})
        return
    if spec.version == before:
        typer.echo(f"{name} v{spec.version} already has this spec: nothing changed")
    else:
        typer.secho(f"deployed {name} v{spec.version}: {spec_line(spec)}", fg=typer.colors.GREEN)


def _exists(serving: ServingService, name: str) -> bool:
    from shipyard.core.errors import NotFoundError

    try:
        serving.history(name)
    except NotFoundError:
        return False
    return True


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Live deployments with their routes and the state the data plane reported."""
    deployments = _serving(ctx).list(limit=100_000)
    if as_json:
        print_json([deployment_doc(d) for d in deployments])
    else:
        print_deployments(deployments)


@app.command("show")
def show_command(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """A deployment's routes, the model version each resolves to now, and each route's status."""
    serving = _serving(ctx)
    deployment = serving.get(name)
    resolved, problem = _resolved(serving, name)
    if as_json:
        print_json(deployment_doc(deployment, resolved, problem))
    else:
        print_deployment(deployment, resolved, problem)


def _resolved(serving: ServingService, name: str) -> tuple[dict[str, str], str | None]:
    """``{route: "fraud:7"}`` now, or the reason the routes do not resolve."""
    from shipyard.core.errors import ShipyardError

    try:
        return {r.route.name: r.ref for r in serving.resolve(name)}, None
    except ShipyardError as exc:
        return {}, exc.message


@app.command("history")
def history_command(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Every version of a deployment's spec, oldest first: routes, who, when, why."""
    history = _serving(ctx).history(name)
    if as_json:
        print_json([spec_doc(s) for s in history])
    else:
        print_history(history)


@app.command("set-weight")
def set_weight_command(
    ctx: typer.Context,
    name: NameArg,
    route: Annotated[str, typer.Argument(metavar="ROUTE", help="The route, e.g. canary.")],
    weight: Annotated[str, typer.Argument(metavar="W%", help="Its share of the traffic, e.g. 25%.")],
    reason: ReasonOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Give ROUTE W% of the traffic; the primary takes or gives the difference (a new version)."""
    spec = _serving(ctx).set_weight(name, route, weight, reason)
    if as_json:
        print_json(spec_doc(spec))
    else:
        typer.secho(f"{name} v{spec.version}: {spec_line(spec)}", fg=typer.colors.GREEN)


@app.command("undeploy")
def undeploy_command(
    ctx: typer.Context, name: NameArg, reason: ReasonOpt = None, as_json: JsonFlag = False
) -> None:
    """Stop serving NAME (its history stays; deploying it again continues the history)."""
    _serving(ctx).undeploy(name, reason)
    if as_json:
        print_json({"name": name, "undeployed": True})
    else:
        typer.secho(f"undeployed {name}", fg=typer.colors.GREEN)
