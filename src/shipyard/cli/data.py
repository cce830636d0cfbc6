"""``shipyard data``: version files and folders, see what changed, check out, clean up.

A version is named ``NAME@V``; ``NAME`` alone is the latest. ``data status`` prints
``modified:``/``added:``/``removed:`` lines only when something changed, so scripts
can grep for them (or use ``--json``). The console script runs a plain ``data status``
or ``data add`` on the lean path of :mod:`shipyard.cli.data_lean` when it can, before
this app is even imported; both print with the same functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli import state
from shipyard.cli.data_lean import NO_DATASETS, added_line, latest_id, status_document, version_json
from shipyard.cli.data_render import print_diff, print_gc, print_status, print_version
from shipyard.cli.output import (
    JsonFlag,
    add_row,
    console,
    human_size,
    human_time,
    make_table,
    print_json,
    print_table,
)
from shipyard.core.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.datasets.service import Progress
    from shipyard.workspace import Workspace

app = typer.Typer(help="Datasets: versioned snapshots of files and folders.", no_args_is_help=True)

RefArg = Annotated[
    str, typer.Argument(metavar="NAME[@V]", help="A dataset version; NAME alone is the latest.")
]


@app.command("add")
def add_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="PATH", help="The file or folder to snapshot.")],
    name: Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="Dataset name.")],
    message: Annotated[
        str | None, typer.Option("--message", "-m", metavar="MSG", help="What changed.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Snapshot PATH as the next version of NAME (nothing new if its content is unchanged)."""
    datasets = state(ctx).workspace.datasets
    before = latest_id(datasets, name)
    with _progress(enabled=not as_json) as progress:
        version = datasets.add(path, name, message, progress=progress)
    created = version.id != before
    if as_json:
        print_json({**version_json(version, files=False), "created": created})
    elif created:
        typer.secho(added_line(version, created), fg=typer.colors.GREEN)
    else:
        typer.echo(added_line(version, created))


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    """A Rich progress bar for hashing and uploading, when stdout is a terminal."""
    out = console()
    if not enabled or not out.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=out
    ) as bar:
        tasks: dict[str, Any] = {}

        class Hook:
            def start(self, phase: str, total: int) -> None:
                label = {"hash": "hashing", "upload": "uploading"}.get(phase, phase)
                tasks[phase] = bar.add_task(label, total=total)

            def advance(self, phase: str, amount: int) -> None:
                bar.advance(tasks[phase], amount)

        yield Hook()


@app.command("status")
def status_command(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(metavar="[NAME]", help="One dataset (default: all).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compare the folder each dataset was added from with its latest version."""
    datasets = state(ctx).workspace.datasets
    names = [name] if name is not None else [d.name for d in datasets.list(limit=100_000)]
    reports, problems = [], {}
    for each in names:
        try:
            reports.append(datasets.status(each))
        except ShipyardError as exc:
            if name is not None:
                raise
            problems[each] = exc.message
    if as_json:
        typer.echo(status_document(reports, problems))
        return
    if not names:
        typer.echo(NO_DATASETS)
    for report in reports:
        print_status(report)
    for each, message in problems.items():
        typer.secho(f"{each}: cannot compare: {message}", fg=typer.colors.YELLOW)


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List datasets with their latest version."""
    datasets = state(ctx).workspace.datasets
    latest = [datasets.get(d.name) for d in datasets.list(limit=100_000)]
    if as_json:
        print_json([version_json(v, files=False) for v in latest])
        return
    table = make_table("name", "latest", "files", "size", "rows", "created", "message")
    for v in latest:
        rows = "-" if v.row_count is None else f"{v.row_count:,}"
        created = human_time(v.created_at)
        add_row(
            table,
            v.name,
            f"@{v.version}",
            str(len(v.files)),
            human_size(v.size),
            rows,
            created,
            v.message or "",
        )
    print_table(table)


@app.command("show")
def show_command(ctx: typer.Context, ref: RefArg, as_json: JsonFlag = False) -> None:
    """A version: files, size, rows, schema and profile of each tabular file, validations."""
    workspace = state(ctx).workspace
    version = workspace.datasets.get(ref)
    validations = _validations(workspace, version)
    if as_json:
        print_json({**version_json(version), "validations": validations})
        return
    print_version(version, validations)


def _validations(workspace: Workspace, version: Any) -> list[dict[str, Any]] | None:
    """The validation results of ``version``, when the validation domain is there."""
    validation = getattr(workspace, "validation", None)
    if validation is None or not hasattr(validation, "list_results"):
        return None
    out = []
    for result in validation.list_results(version):
        doc = result.to_dict() if hasattr(result, "to_dict") else dict(vars(result))
        out.append(doc)
    return out


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(metavar="NAME@A", help="The older version.")],
    b: Annotated[str, typer.Argument(metavar="NAME@B", help="The newer version.")],
    as_json: JsonFlag = False,
) -> None:
    """Files added, removed and changed; schema changes; profile deltas."""
    diff = state(ctx).workspace.datasets.diff(a, b)
    if as_json:
        print_json(diff.to_dict())
        return
    print_diff(diff)


@app.command("checkout")
def checkout_command(
    ctx: typer.Context,
    ref: RefArg,
    dest: Annotated[Path, typer.Argument(metavar="DEST", help="Folder to write the files into.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite files in a non-empty DEST.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Materialise a version's files in DEST (read-only hard links where possible), verified."""
    datasets = state(ctx).workspace.datasets
    version = datasets.get(ref)
    written = datasets.checkout(version.ref, dest, force=force)
    if as_json:
        print_json({"ref": version.ref, "dest": str(dest), "files": [str(p) for p in written]})
        return
    typer.secho(f"checked out {version.ref} into {dest} ({len(written)} files)", fg=typer.colors.GREEN)


@app.command("gc")
def gc_command(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete the listed blobs (default: dry run).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove stored blobs that no dataset version, run artifact or prediction log references."""
    workspace = state(ctx).workspace
    keep = workspace.tracking.artifact_digests() | workspace.serving.segment_digests()
    report = workspace.datasets.gc(dry_run=not yes, keep=keep)
    if as_json:
        print_json({**vars(report)})
        return
    print_gc(report)
