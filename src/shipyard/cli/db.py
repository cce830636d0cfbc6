"""``shipyard db``: the schema of the metadata database.

The embedded SQLite store upgrades itself on first use; a server's PostgreSQL
database is upgraded with ``shipyard db upgrade --uri postgresql+psycopg://...``
before the new server version starts.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import state
from shipyard.cli.output import JsonFlag, print_json
from shipyard.core.errors import InvalidInputError

app = typer.Typer(help="The metadata database: schema upgrades.", no_args_is_help=True)


def check_database_uri(uri: str) -> None:
    """Refuse URIs that name no database of ours to upgrade, saying what to do instead."""
    if uri.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"{uri} is a Shipyard server, which owns and upgrades its own database: run "
            "`shipyard db upgrade --uri <database-uri>` where the server runs, before starting it"
        )
    if uri.startswith("memory:"):
        raise InvalidInputError(f"{uri} is an in-memory store: it has no schema to upgrade")


@app.command("upgrade")
def upgrade_command(
    ctx: typer.Context,
    uri: Annotated[
        str | None, typer.Option("--uri", metavar="URI", help="Database URI [default: the workspace's].")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Upgrade the metadata database schema to the newest revision."""
    target = uri or state(ctx).settings.uri
    check_database_uri(target)
    from shipyard.db.engine import get_engine
    from shipyard.db.migrate import current_revision, upgrade

    engine = get_engine(target)
    shown = engine.url.render_as_string(hide_password=True)
    before = current_revision(engine)
    after = upgrade(engine)
    if as_json:
        print_json({"uri": shown, "from_revision": before, "to_revision": after, "changed": before != after})
    elif before == after:
        typer.echo(f"{shown}: schema already at revision {after}")
    else:
        typer.echo(f"{shown}: schema upgraded from revision {before or 'none (empty database)'} to {after}")
