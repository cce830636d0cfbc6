"""``shipyard audit``: read and verify the hash-chained audit log.

``audit verify`` exits 0 when the chain is intact and 1 when a link is broken
(with ``chain broken at event #N: reason`` on stderr).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli import state
from shipyard.cli.output import (
    GENERIC,
    JsonFlag,
    add_row,
    error,
    human_time,
    make_table,
    print_json,
    print_table,
    short_digest,
    time_fields,
)

if TYPE_CHECKING:
    from shipyard.governance.models import AuditEvent

app = typer.Typer(help="The audit log: who did what to which thing, hash-chained.", no_args_is_help=True)


def event_json(event: AuditEvent) -> dict[str, Any]:
    doc: dict[str, Any] = {"seq": event.seq, **time_fields("time", event.time)}
    for name in ("actor", "action", "target", "payload_digest", "prev_hash", "hash"):
        doc[name] = getattr(event, name)
    return doc


@app.command("verify")
def verify_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Walk the whole chain; exit 1 and name the first broken link if it was tampered with."""
    report = state(ctx).workspace.audit.verify()
    if as_json:
        keys = ("ok", "checked", "first_broken_seq", "reason")
        print_json({k: getattr(report, k) for k in keys})
        if not report.ok:
            raise typer.Exit(GENERIC)
        return
    if not report.ok:
        error(f"chain broken at event #{report.first_broken_seq}: {report.reason}", GENERIC)
    typer.secho(f"audit chain intact: {report.checked} event(s) checked", fg=typer.colors.GREEN)


@app.command("list")
def list_command(
    ctx: typer.Context,
    after: Annotated[int, typer.Option("--after", min=0, metavar="SEQ", help="Only events after #SEQ.")] = 0,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N events.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List audit events in order, oldest first (page with --after)."""
    events = state(ctx).workspace.audit.list_events(after_seq=after, limit=limit)
    if as_json:
        print_json([event_json(e) for e in events])
        return
    more = f"; more with --after {events[-1].seq}" if len(events) == limit else ""
    table = make_table(
        "#", "time", "actor", "action", "target", "hash", caption=f"{len(events)} event(s){more}"
    )
    for e in events:
        add_row(table, str(e.seq), human_time(e.time), e.actor, e.action, e.target, short_digest(e.hash))
    print_table(table)
