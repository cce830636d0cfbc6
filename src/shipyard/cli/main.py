"""The root ``shipyard`` app: global options, command groups, and error handling.

Every :class:`~shipyard.core.errors.ShipyardError` raised by a command is caught
once, here, and reported by :func:`shipyard.cli.output.fail` (one line, an exit
code per error family); only unexpected errors show a traceback.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from shipyard._version import __version__
from shipyard.cli import (
    CliState,
    audit,
    data,
    db,
    deployments,
    experiments,
    features,
    init,
    models,
    monitors,
    pipelines,
    predict,
    runs,
    scheduler,
    serve,
    server,
    tokens,
    tune,
    validate,
    webhooks,
)
from shipyard.core.errors import ShipyardError


class ShipyardGroup(TyperGroup):
    """The root group: turns ShipyardErrors of any subcommand into clean exits."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ShipyardError as exc:
            from shipyard.cli.output import fail

            fail(exc)


app = typer.Typer(
    cls=ShipyardGroup,
    name="shipyard",
    help="Shipyard: the whole life of a machine-learning model, from data to monitoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.command("init")(init.init_command)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(tokens.app, name="tokens")
app.add_typer(audit.app, name="audit")
app.add_typer(db.app, name="db")
app.add_typer(data.app, name="data")
app.add_typer(features.app, name="features")
app.add_typer(models.app, name="models")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(pipelines.app, name="pipelines")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(tune.app, name="tune")
app.command("server")(server.serve_command)
app.command("serve")(serve.serve_command)
app.command("validate")(validate.validate_command)
app.command("deploy")(deployments.deploy_command)
app.add_typer(deployments.app, name="deployments")
app.add_typer(monitors.app, name="monitors")
app.add_typer(monitors.alerts_app, name="alerts")
app.command("predict")(predict.predict_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shipyard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        str | None,
        typer.Option("--home", metavar="PATH", help="Shipyard home folder (overrides SHIPYARD_HOME)."),
    ] = None,
    uri: Annotated[
        str | None,
        typer.Option("--uri", metavar="URI", help="Metadata backend or server URI (overrides SHIPYARD_URI)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Shipyard: the whole life of a machine-learning model, from data to monitoring."""
    cli_state = CliState(home=home, uri=uri)
    ctx.obj = cli_state
    ctx.call_on_close(cli_state.close)


def main() -> None:
    """Entry point of the ``shipyard`` console script."""
    app(prog_name="shipyard")


if __name__ == "__main__":  # pragma: no cover
    main()
