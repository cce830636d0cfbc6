"""``shipyard tokens``: bearer tokens for a Shipyard server (secrets are shown once)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli import state
from shipyard.cli.output import (
    JsonFlag,
    add_row,
    human_time,
    make_table,
    print_json,
    print_table,
    time_fields,
)
from shipyard.governance.models import Role

if TYPE_CHECKING:
    from shipyard.governance.models import Token

app = typer.Typer(help="Bearer tokens: create, list and revoke.", no_args_is_help=True)

ONCE = "Store this secret now: it cannot be shown again (only its SHA-256 is kept)."


def token_json(token: Token) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": token.id, "name": token.name, "role": token.role.value}
    for name in ("created_at", "revoked_at", "last_used_at"):
        doc.update(time_fields(name, getattr(token, name)))
    return {**doc, "revoked": token.revoked_at is not None}


@app.command("create")
def create_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="User the token acts as (created if new).")],
    role: Annotated[Role, typer.Option("--role", case_sensitive=False, help="Role the token carries.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a token and print its secret, once."""
    from shipyard.core.actors import current_actor

    token, secret = state(ctx).workspace.auth.create_token(name, role, actor=current_actor())
    if as_json:
        print_json({**token_json(token), "secret": secret, "note": ONCE})
        return
    typer.echo(f"created token {token.id} for {token.name} with role {token.role.value}")
    typer.echo(secret)
    typer.secho(ONCE, fg=typer.colors.YELLOW, err=True)


@app.command("list")
def list_command(
    ctx: typer.Context,
    include_revoked: Annotated[bool, typer.Option("--all", "-a", help="Include revoked tokens.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List tokens (never their secrets), oldest first."""
    tokens = state(ctx).workspace.auth.list_tokens(include_revoked=include_revoked)
    if as_json:
        print_json([token_json(t) for t in tokens])
        return
    table = make_table(
        "id", "name", "role", "created", "last used", "revoked", caption=f"{len(tokens)} token(s)"
    )
    for t in tokens:
        add_row(
            table,
            t.id,
            t.name,
            t.role.value,
            human_time(t.created_at),
            human_time(t.last_used_at),
            human_time(t.revoked_at),
        )
    print_table(table)


@app.command("revoke")
def revoke_command(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="Id of the token (see `tokens list`).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token; revoking it again changes nothing."""
    from shipyard.core.actors import current_actor

    token = state(ctx).workspace.auth.revoke_token(token_id, actor=current_actor())
    if as_json:
        print_json(token_json(token))
        return
    typer.echo(f"revoked token {token.id} of {token.name}")
