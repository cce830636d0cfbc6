"""``shipyard webhooks``: the URLs told about registry events (admins), and their deliveries.

Events: ``model_version.created``, ``alias.changed``, ``gate.failed`` (or patterns such as
``alias.*``, ``*``). Deliveries are POSTed as JSON signed with the secret
(``X-Shipyard-Signature: sha256=<HMAC-SHA256 of the body>``) and retried with backoff.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import state
from shipyard.cli.models_render import delivery_doc, print_deliveries, print_webhooks, webhook_doc
from shipyard.cli.output import JsonFlag, print_json

app = typer.Typer(help="Webhooks: tell other systems about registry events.", no_args_is_help=True)


@app.command("add")
def add_command(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="Where to POST the events (http or https).")],
    events: Annotated[
        str,
        typer.Option(
            "--events", "-e", metavar="E1,E2", help="Comma-separated events or patterns (default: all)."
        ),
    ] = "*",
    secret: Annotated[
        str | None, typer.Option("--secret", metavar="TEXT", help="Sign each delivery with this secret.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Tell URL about registry events."""
    wanted = [e.strip() for e in events.split(",") if e.strip()]
    webhook = state(ctx).workspace.registry.add_webhook(url, wanted, secret)
    if as_json:
        print_json(webhook_doc(webhook))
    else:
        signed = "signed" if secret else "unsigned"
        typer.secho(
            f"added webhook {webhook.id} ({signed}): {', '.join(webhook.events)} -> {url}", fg="green"
        )


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Webhooks, oldest first (never their secrets)."""
    webhooks = state(ctx).workspace.registry.list_webhooks()
    if as_json:
        print_json([webhook_doc(w) for w in webhooks])
    else:
        print_webhooks(webhooks)


@app.command("remove")
def remove_command(
    ctx: typer.Context,
    webhook_id: Annotated[str, typer.Argument(metavar="ID", help="The webhook's id.")],
    as_json: JsonFlag = False,
) -> None:
    """Remove a webhook and its deliveries."""
    state(ctx).workspace.registry.remove_webhook(webhook_id)
    if as_json:
        print_json({"id": webhook_id, "removed": True})
    else:
        typer.echo(f"removed webhook {webhook_id}")


@app.command("deliveries")
def deliveries_command(
    ctx: typer.Context,
    webhook_id: Annotated[
        str | None, typer.Option("--webhook", "-w", metavar="ID", help="Only this webhook's.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Deliveries, newest first: status, attempts, last response code and error."""
    deliveries = state(ctx).workspace.registry.list_deliveries(webhook_id, limit)
    if as_json:
        print_json([delivery_doc(d) for d in deliveries])
    else:
        print_deliveries(deliveries)
