"""``shipyard features``: apply definitions from a Python file, list and show them, materialise.

``features apply defs.py`` runs the file and applies every entity, feature view,
on-demand feature and feature service defined at its top level. The file is imported as
a module named after it (``defs``), which is the name on-demand functions are recorded
under. Exit codes as everywhere: 4 when a change is refused as incompatible (apply
again with ``--force``), 2 for a bad definition.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli import state
from shipyard.cli.output import (
    JsonFlag,
    add_row,
    console,
    human_time,
    make_table,
    print_fields,
    print_json,
    print_table,
    time_fields,
)
from shipyard.core.errors import InvalidInputError, UserCodeError

if TYPE_CHECKING:
    from shipyard.features.materialization import MaterializeReport
    from shipyard.features.models import Definition, FeatureObject

app = typer.Typer(
    help="Feature store: entities, feature views, services; materialise online.", no_args_is_help=True
)
KindOption = Annotated[
    str | None,
    typer.Option("--kind", help="entity, feature_view, on_demand or feature_service.", metavar="KIND"),
]


def load_definitions(path: Path) -> list[FeatureObject]:
    """The definition objects at the top level of the Python file ``path``, in definition order."""
    from shipyard.features.models import Entity, FeatureService, FeatureView, OnDemandFeature

    path = path.absolute()
    if not path.is_file() or path.suffix != ".py":
        raise InvalidInputError(f"{str(path)!r} is not a Python file")
    name = path.stem
    if not name.isidentifier() or (
        name in sys.modules and getattr(sys.modules[name], "__file__", None) != str(path)
    ):
        raise InvalidInputError(f"cannot import {path.name} as module {name!r}: rename the file")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidInputError(f"cannot load {str(path)!r} as a module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise UserCodeError(f"{path.name} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.parent))
    kinds = (Entity, FeatureView, OnDemandFeature, FeatureService)
    found = [value for value in vars(module).values() if isinstance(value, kinds)]
    if not found:
        raise InvalidInputError(
            f"{path.name} defines no entity, feature view, on-demand feature or feature service"
        )
    return found


@app.command("apply")
def apply_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="DEFS.py", help="The Python file with the definitions.")],
    force: Annotated[
        bool, typer.Option("--force", help="Record incompatible changes (a feature's type) as new versions.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Register the definitions of DEFS.py; each changed one becomes a new version."""
    objects = load_definitions(path)
    changes = state(ctx).workspace.features.apply(objects, force=force)
    if as_json:
        print_json([{**vars(c), "notes": list(c.notes), "ref": c.ref} for c in changes])
        return
    table = make_table("kind", "name", "version", "status", "notes")
    for change in changes:
        add_row(table, change.kind, change.name, f"@{change.version}", change.status, "; ".join(change.notes))
    print_table(table)


def definition_json(definition: Definition) -> dict[str, Any]:
    return {
        "kind": definition.kind,
        "name": definition.name,
        "version": definition.version,
        "ref": definition.ref,
        "digest": definition.digest,
        "created_by": definition.created_by,
        **time_fields("created_at", definition.created_at),
        "spec": definition.spec,
    }


def summary(definition: Definition) -> str:
    """One line about a definition: its features, TTL and source, its keys, its inputs."""
    spec = definition.spec
    if definition.kind == "entity":
        return "join keys: " + ", ".join(spec["join_keys"])
    if definition.kind == "feature_view":
        ttl = "no ttl" if spec["ttl_us"] is None else f"ttl {timedelta(microseconds=spec['ttl_us'])}"
        return f"{len(spec['features'])} features, {ttl}, from {spec['source']}"
    if definition.kind == "on_demand":
        return f"{', '.join(n for n, _ in spec['outputs'])} from {', '.join(spec['inputs'])}"
    return f"{len(spec['features'])} features"


@app.command("list")
def list_command(ctx: typer.Context, kind: KindOption = None, as_json: JsonFlag = False) -> None:
    """List definitions with their latest version."""
    found = state(ctx).workspace.features.list(kind, limit=100_000)
    if as_json:
        print_json([definition_json(d) for d in found])
        return
    table = make_table("kind", "name", "latest", "created", "by", "summary")
    for d in found:
        add_row(
            table, d.kind, d.name, f"@{d.version}", human_time(d.created_at), d.created_by or "-", summary(d)
        )
    print_table(table)


@app.command("show")
def show_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@V]", help="A definition; NAME alone is the latest.")],
    kind: KindOption = None,
    as_json: JsonFlag = False,
) -> None:
    """A definition's spec and versions (feature views first when names are shared)."""
    features = state(ctx).workspace.features
    definition = features.get(ref, kind)
    versions = features.store.list_versions(definition.kind, definition.name)
    if as_json:
        print_json({**definition_json(definition), "versions": [v.version for v in versions]})
        return
    _print_definition(definition, [v.version for v in versions])


def _print_definition(d: Definition, versions: list[int]) -> None:
    spec = d.spec
    fields = [
        ("kind", d.kind),
        ("digest", d.digest),
        ("created", f"{human_time(d.created_at)} by {d.created_by or '-'}"),
        ("versions", ", ".join(f"@{v}" for v in versions)),
        ("summary", summary(d)),
    ]
    if spec.get("description"):
        fields.append(("description", spec["description"]))
    if d.kind == "feature_view":
        fields.append(
            ("entities", ", ".join(f"{e['name']} ({', '.join(e['join_keys'])})" for e in spec["entities"]))
        )
        fields.append(
            (
                "timestamp",
                spec["timestamp_field"]
                + (
                    f", created: {spec['created_timestamp_field']}" if spec["created_timestamp_field"] else ""
                ),
            )
        )
    if d.kind == "on_demand":
        fields.append(("function", spec["function"]))
    print_fields(d.ref, fields)
    rows = spec.get("features") or spec.get("outputs")
    if rows and isinstance(rows[0], list):
        table = make_table("feature", "dtype")
        for name, dtype in rows:
            add_row(table, name, dtype)
        print_table(table)
    elif rows:
        table = make_table("feature")
        for ref in rows:
            add_row(table, ref)
        print_table(table)


@app.command("materialize")
def materialize_command(
    ctx: typer.Context,
    views: Annotated[
        list[str] | None,
        typer.Option("--view", metavar="VIEW", help="A view to materialise (repeatable; default: all)."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", metavar="TIME", help="Earliest event time (ISO).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", metavar="TIME", help="Latest event time (ISO; default: now).")
    ] = None,
    incremental: Annotated[
        bool, typer.Option("--incremental", help="From each view's last materialisation on.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write each entity's latest feature values to the online store."""
    features = state(ctx).workspace.features
    if incremental and start is not None:
        raise InvalidInputError("--incremental starts where the last run ended: drop --start")
    progress = None if as_json else _progress_line
    if incremental:
        reports = features.materialize_incremental(views, end, progress=progress)
    else:
        reports = features.materialize(views, start, end, progress=progress)
    if as_json:
        print_json([_report_json(r) for r in reports])
        return
    if console().is_terminal:
        typer.echo("", err=True)
    for report in reports:
        typer.secho(
            f"{report.view}@{report.version}: {report.rows:,} entities online in {report.seconds:.2f}s",
            fg=typer.colors.GREEN,
        )


def _progress_line(view: str, written: int, total: int) -> None:
    if console().is_terminal:
        typer.echo(f"\r{view}: {written:,}/{total:,} entities", nl=False, err=True)


def _report_json(report: MaterializeReport) -> dict[str, Any]:
    return {
        "view": report.view,
        "version": report.version,
        "rows": report.rows,
        **time_fields("start", report.start_ms),
        **time_fields("end", report.end_ms),
        "seconds": report.seconds,
    }
