"""``shipyard init``: make a project's embedded home, like ``git init``.

Without it the home is created on first write; ``init`` does that work up front:
the ``.shipyard/`` folder, the metadata database at the newest schema, and the
artifact folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli import state
from shipyard.cli.output import JsonFlag, print_json
from shipyard.core.config import HOME_DIRNAME
from shipyard.core.errors import InvalidInputError


def init_command(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(help="Project folder [default: SHIPYARD_HOME's, else the working directory]."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the embedded home (.shipyard/) with its database and artifact folder."""
    cli = state(ctx)
    if path is not None:
        cli.home = str(path.resolve() / HOME_DIRNAME)
    settings = cli.settings
    if settings.is_remote:
        raise InvalidInputError(
            f"SHIPYARD_URI is a server ({settings.uri}): there is no local home to create"
        )
    from shipyard.db.engine import get_engine
    from shipyard.db.migrate import upgrade

    existed = settings.home.is_dir()
    settings.home.mkdir(parents=True, exist_ok=True)
    revision = upgrade(get_engine(settings.uri))
    if "://" not in settings.artifacts_uri:
        Path(settings.artifacts_uri).mkdir(parents=True, exist_ok=True)
    doc = {
        "home": str(settings.home),
        "uri": settings.uri,
        "artifacts_uri": settings.artifacts_uri,
        "schema_revision": revision,
        "created": not existed,
    }
    if as_json:
        print_json(doc)
    else:
        verb = "Initialised" if not existed else "Reinitialised"
        typer.echo(f"{verb} Shipyard home in {settings.home} (schema revision {revision})")
