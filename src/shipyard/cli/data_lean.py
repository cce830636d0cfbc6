"""``shipyard data status`` and ``data add`` on a lean path, and the text both paths print.

Loading the Typer app costs more than a no-change status or a small ``add`` takes: Typer,
Rich and pydantic alone take a few hundred milliseconds to import. So the console
script (:mod:`shipyard.cli.entry`) first hands the command line to :func:`run_lean`:

* ``[--home H] [--uri U] data status [NAME] [--json]`` is answered from the stat cache
  and the embedded database with the standard library alone
  (:mod:`shipyard.datasets.quick_status`) when nothing changed: no Typer, Rich,
  SQLAlchemy, pandas or DuckDB is imported;
* ``[--home H] [--uri U] data add PATH --name NAME [-m MSG] [--json]`` runs the dataset
  service directly when stdout is not a terminal (a terminal gets the Typer command,
  which draws a progress bar).

Anything else (another option, a change to report, a status it cannot be sure of)
returns None and the Typer command runs as usual. Both paths print with the functions
below, so they print the same bytes; an error is reported by
:func:`shipyard.cli.output.error` with the same exit code.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

from shipyard.cli.plain import human_size, json_text, time_fields

if TYPE_CHECKING:
    from shipyard.core.errors import ShipyardError
    from shipyard.datasets.models import DatasetVersion
    from shipyard.datasets.reports import StatusReport
    from shipyard.datasets.service import DatasetService
    from shipyard.workspace import Workspace

NO_DATASETS = "no datasets yet: add one with `shipyard data add PATH --name NAME`"
_GLOBAL_OPTIONS = ("--home", "--uri")
_ADD_OPTIONS = {"--name": "name", "-n": "name", "--message": "message", "-m": "message"}
#: Environment variables with which Rich draws on a pipe as on a terminal.
_TERMINAL_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "FORCE_TERMINAL")


# -- what both paths print -------------------------------------------------------------
def status_json(r: StatusReport) -> dict[str, Any]:
    """One report in the ``data status --json`` document."""
    return {**vars(r), "clean": r.clean}


def status_document(reports: list[StatusReport], problems: dict[str, str]) -> str:
    """The ``data status --json`` output."""
    return json_text({"datasets": [status_json(r) for r in reports], "errors": problems})


def up_to_date_line(r: StatusReport) -> str:
    """What ``data status`` prints for a clean source."""
    return f"{r.ref}: up to date ({r.unchanged_count} files in {r.source_path})"


def version_json(v: DatasetVersion, files: bool = True) -> dict[str, Any]:
    """A version in a ``--json`` document (its files, schema and profile unless ``files=False``)."""
    doc: dict[str, Any] = {
        "ref": v.ref,
        "file_count": len(v.files),
        **time_fields("created_at", v.created_at),
    }
    for name in ("id", "name", "version", "digest", "kind", "size", "row_count", "message", "created_by"):
        doc[name] = getattr(v, name)
    doc["source_path"] = v.source_path
    if files:
        doc.update(
            files=[{"path": f.path, "digest": f.digest, "size": f.size} for f in v.files],
            schema=v.schema,
            profile=v.profile,
        )
    return doc


def added_line(version: DatasetVersion, created: bool) -> str:
    """What ``data add`` prints (in green when ``created``)."""
    rows = "" if version.row_count is None else f", {version.row_count:,} rows"
    summary = f"{len(version.files)} files, {human_size(version.size)}{rows}"
    if created:
        return f"added {version.ref} ({summary}) {version.digest}"
    return f"{version.ref} is unchanged ({summary}): no new version"


def latest_id(datasets: DatasetService, name: str) -> str | None:
    """The id of the latest version of ``name``, None for a new dataset (or a bad name)."""
    from shipyard.core.errors import ShipyardError

    try:
        return datasets.get(name).id
    except ShipyardError:  # a new dataset (or a bad name, which add reports)
        return None


# -- the lean path ---------------------------------------------------------------------
def run_lean(argv: list[str]) -> int | None:
    """Run a plain ``data status`` or ``data add`` and return its exit code; None for Typer to run it."""
    options, rest = _global_options(argv)
    if options is None or rest[:1] != ["data"]:
        return None
    if rest[1:2] == ["status"]:
        return _status(options, rest[2:])
    if rest[1:2] == ["add"]:
        return _add(options, rest[2:])
    return None


def _global_options(argv: list[str]) -> tuple[dict[str, str] | None, list[str]]:
    options: dict[str, str] = {}
    rest = list(argv)
    while rest and rest[0].split("=", 1)[0] in _GLOBAL_OPTIONS:
        flag, eq, value = rest.pop(0).partition("=")
        if not eq:
            if not rest:
                return None, rest
            value = rest.pop(0)
        options[flag[2:]] = value
    return options, rest


def _status(options: dict[str, str], args: list[str]) -> int | None:
    as_json = "--json" in args
    names = [arg for arg in args if arg != "--json"]
    if len(names) > 1 or any(arg.startswith("-") for arg in names):
        return None
    from shipyard.core.config import load_settings
    from shipyard.core.errors import ShipyardError
    from shipyard.datasets.quick_status import quick_status

    try:
        settings = load_settings(home=options.get("home"), uri=options.get("uri"))
        reports = quick_status(settings.uri, settings.home, names[0] if names else None)
    except (ShipyardError, OSError):
        return None
    if reports is None:
        return None
    if as_json:
        _print(status_document(reports, {}))
    else:
        _print("\n".join(up_to_date_line(r) for r in reports) if reports else NO_DATASETS)
    return 0


def _add(options: dict[str, str], args: list[str]) -> int | None:
    parsed = _add_arguments(args)
    if parsed is None or sys.stdout.isatty() or any(os.environ.get(v) for v in _TERMINAL_ENV):
        return None
    path, name, message, as_json = parsed
    from shipyard.core.config import load_settings
    from shipyard.core.errors import ShipyardError
    from shipyard.workspace import Workspace

    workspace = None
    try:
        workspace = Workspace(load_settings(home=options.get("home"), uri=options.get("uri")))
        before, version = _capture_and_record(workspace, path, name, message)
    except ShipyardError as exc:
        return _report(exc)
    finally:
        if workspace is not None:
            workspace.close()
    created = version.id != before
    doc = {**version_json(version, files=False), "created": created}
    _print(json_text(doc) if as_json else added_line(version, created))
    return 0


def _capture_and_record(
    workspace: Workspace, path: str, name: str, message: str | None
) -> tuple[str | None, DatasetVersion]:
    """``datasets.add(path, name, message)``, hashing while the database is opened on another thread.

    Opening it means loading SQLAlchemy, which takes about as long as hashing a big folder.
    Returns the id the latest version had before, and the version.
    """
    from concurrent.futures import ThreadPoolExecutor

    from shipyard.core.errors import ShipyardError
    from shipyard.datasets.capture import capture, stat_cache_for
    from shipyard.datasets.refs import check_dataset_name

    content = workspace.content
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipyard-open") as pool:
        opening = pool.submit(lambda: workspace.datasets)
        try:
            check_dataset_name(name)
            snapshot = capture(path, content, stat_cache_for(workspace.settings.home))
        except ShipyardError:
            opening.result()  # the Typer command opens the database first: its error comes first
            raise
        try:
            datasets = opening.result()
        except BaseException:
            snapshot.discard()
            raise
    before = latest_id(datasets, name)
    return before, datasets.record(name, snapshot, message)


def _add_arguments(args: list[str]) -> tuple[str, str, str | None, bool] | None:
    """``(PATH, NAME, MSG, --json)`` of ``PATH --name NAME [-m MSG] [--json]``, else None."""
    values: dict[str, str] = {}
    paths: list[str] = []
    as_json = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        flag, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg == "--json":
            as_json = True
        elif flag in _ADD_OPTIONS and _ADD_OPTIONS[flag] not in values and (eq or rest):
            values[_ADD_OPTIONS[flag]] = value if eq else rest.pop(0)
        elif arg.startswith("-"):
            return None
        else:
            paths.append(arg)
    if len(paths) != 1 or "name" not in values:
        return None
    return paths[0], values["name"], values.get("message"), as_json


def _report(exc: ShipyardError) -> int:
    """Report an error as the Typer app does (one red line on stderr); its exit code."""
    import typer

    from shipyard.cli.output import error, exit_code

    code = exit_code(exc)
    with contextlib.suppress(typer.Exit):  # error() prints, then raises typer.Exit(code)
        error(exc.message, code)
    return code


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
