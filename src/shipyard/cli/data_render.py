"""How ``shipyard data`` shows versions, status reports, diffs and gc reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from shipyard.cli.data_lean import up_to_date_line
from shipyard.cli.data_lean import version_json as version_json
from shipyard.cli.output import (
    add_row,
    fmt_value,
    human_size,
    human_time,
    make_table,
    print_fields,
    print_table,
    short_digest,
)

if TYPE_CHECKING:
    from shipyard.datasets.models import DatasetVersion
    from shipyard.datasets.reports import DatasetDiff, GcReport, StatusReport

MAX_FILES_SHOWN = 50
PROFILE_STATS = ("null_count", "min", "max", "mean", "std", "distinct_count")


def print_status(r: StatusReport) -> None:
    if r.clean:
        typer.echo(up_to_date_line(r))
        return
    typer.secho(f"{r.ref}: {r.source_path} has changed", bold=True)
    for word, paths, colour in (
        ("modified", r.modified, typer.colors.YELLOW),
        ("added", r.added, typer.colors.GREEN),
        ("removed", r.removed, typer.colors.RED),
    ):
        for path in paths:
            typer.secho(f"  {word}: {path}", fg=colour)
    typer.echo(f"  ({r.unchanged_count} unchanged)")


def print_version(v: DatasetVersion, validations: list[dict[str, Any]] | None) -> None:
    rows = "-" if v.row_count is None else f"{v.row_count:,}"
    print_fields(
        v.ref,
        [
            ("digest", v.digest),
            ("kind", v.kind),
            ("files", str(len(v.files))),
            ("size", human_size(v.size)),
            ("rows", rows),
            ("created", f"{human_time(v.created_at)} by {v.created_by or '-'}"),
            ("message", v.message or "-"),
            ("source", v.source_path or "-"),
        ],
    )
    shown = v.files[:MAX_FILES_SHOWN]
    more = len(v.files) - len(shown)
    table = make_table(
        "path", "size", "digest", caption=f"and {more} more (see --json)" if more > 0 else None
    )
    for f in shown:
        add_row(table, f.path, human_size(f.size), short_digest(f.digest))
    print_table(table, "Files")
    for path in sorted(v.schema):
        print_profile(path, v.schema[path], v.profile.get(path, {}))
    if validations is not None:
        print_validations(validations)


def print_profile(path: str, schema: list[list[str]], profile: dict[str, dict[str, Any]]) -> None:
    table = make_table("column", "type", *PROFILE_STATS)
    for column, typ in schema:
        stats = profile.get(column, {})
        add_row(table, column, typ, *(fmt_value(stats.get(s)) for s in PROFILE_STATS))
    print_table(table, f"Profile of {path}")


def print_validations(validations: list[dict[str, Any]]) -> None:
    if not validations:
        typer.echo("Validations: none")
        return
    table = make_table("suite", "success", "when")
    for doc in validations:
        when = doc.get("created_at")
        add_row(
            table,
            str(doc.get("suite_name", "-")),
            fmt_value(doc.get("success")),
            human_time(when) if isinstance(when, int) else "-",
        )
    print_table(table, "Validations")


def print_diff(d: DatasetDiff) -> None:
    if d.identical:
        typer.echo(f"{d.a} and {d.b} hold the same files")
    table = make_table("change", "path", "size")
    for f in d.added:
        add_row(table, "added", f.path, human_size(f.size), style="green")
    for f in d.removed:
        add_row(table, "removed", f.path, human_size(f.size), style="red")
    for c in d.changed:
        add_row(
            table, "changed", c.path, f"{human_size(c.old.size)} -> {human_size(c.new.size)}", style="yellow"
        )
    if not d.identical:
        print_table(table, f"{d.a} -> {d.b} ({d.unchanged_count} unchanged)")
    if d.row_count[0] != d.row_count[1]:
        typer.echo(f"rows: {fmt_value(d.row_count[0])} -> {fmt_value(d.row_count[1])}")
    for path, change in d.schema_changes.items():
        schema = make_table("column", "change")
        for column, typ in change.added:
            add_row(schema, column, f"added ({typ})")
        for column, typ in change.removed:
            add_row(schema, column, f"removed ({typ})")
        for column, old, new in change.type_changed:
            add_row(schema, column, f"type {old} -> {new}")
        print_table(schema, f"Schema of {path}")
    for path, columns in d.profile_deltas.items():
        deltas = make_table("column", "stat", "before", "after", "delta")
        for column, stats in columns.items():
            for stat, (x, y, delta) in stats.items():
                add_row(deltas, column, stat, fmt_value(x), fmt_value(y), f"{delta:+.6g}")
        print_table(deltas, f"Profile of {path}")


def print_gc(r: GcReport) -> None:
    if not r.orphans:
        typer.echo("nothing to collect: every stored blob is referenced")
        return
    table = make_table("blob", caption=f"{len(r.orphans)} blob(s), {human_size(r.bytes)}")
    for digest in r.orphans:
        add_row(table, digest)
    print_table(table, "Deleted" if r.deleted else "Unreferenced blobs (dry run)")
    if not r.deleted:
        typer.echo("run `shipyard data gc --yes` to delete them")
