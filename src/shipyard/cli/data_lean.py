"""``shipyard data status`` and ``data add`` on a lean path, and the text both paths print.

Loading the Typer app costs more than a no-change status or a small ``add`` takes: Typer,
Rich and pydantic alone take a few hundred milliseconds to import. So the console
script (:mod:`shipyard.cli.entry`) first hands the command line to :func:`run_lean`:

* ``[--home H] [--uri U] data status [NAME] [--json]`` is answered from the datasets'
  status files and the embedded database with the standard library alone
  (:mod:`shipyard.datasets.quick_status`) when nothing changed: nothing beyond it is
  imported, not even ``typing`` or ``pathlib``;
* ``[--home H] [--uri U] data add PATH --name NAME [-m MSG] [--json]`` runs the dataset
  service directly when stdout is not a terminal (a terminal gets the Typer command,
  which draws a progress bar), on plain ``sqlite3`` stores when the database is the
  embedded one (:func:`_capture_and_record`).

Anything else (another option, a change to report, a status it cannot be sure of)
returns None and the Typer command runs as usual. Both paths print with the functions
below, so they print the same bytes; an error is reported by
:func:`shipyard.cli.output.error` with the same exit code.
"""

# pathlib alone takes longer to import than a no-change status takes:
# ruff: noqa: PTH109, PTH110, PTH111, PTH112, PTH118, PTH120
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing alone takes longer to import than a no-change status takes
if TYPE_CHECKING:
    from typing import Any

    from shipyard.core.errors import ShipyardError
    from shipyard.datasets.models import DatasetVersion
    from shipyard.datasets.reports import StatusReport
    from shipyard.datasets.service import DatasetService
    from shipyard.datasets.store.sqlite import SqliteDatasetStore
    from shipyard.workspace import Workspace

NO_DATASETS = "no datasets yet: add one with `shipyard data add PATH --name NAME`"
_GLOBAL_OPTIONS = ("--home", "--uri")
_ADD_OPTIONS = {"--name": "name", "-n": "name", "--message": "message", "-m": "message"}
#: Environment variables with which Rich draws on a pipe as on a terminal.
_TERMINAL_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "FORCE_TERMINAL")
#: The settings a lean ``data status`` resolves itself (see :func:`home_and_uri`).
_HOME_ENV, _URI_ENV = "SHIPYARD_HOME", "SHIPYARD_URI"


# -- what both paths print -------------------------------------------------------------
def status_json(r: StatusReport) -> dict[str, Any]:
    """One report in the ``data status --json`` document."""
    return {**vars(r), "clean": r.clean}


def status_document(reports: list[StatusReport], problems: dict[str, str]) -> str:
    """The ``data status --json`` output."""
    from shipyard.cli.plain import json_text

    return json_text({"datasets": [status_json(r) for r in reports], "errors": problems})


def up_to_date_line(r: StatusReport) -> str:
    """What ``data status`` prints for a clean source."""
    return clean_line(r.ref, r.source_path, r.unchanged_count)


def clean_line(ref: str, source_path: str, count: int) -> str:
    """:func:`up_to_date_line` of a clean source."""
    return f"{ref}: up to date ({count} files in {source_path})"


def version_json(v: DatasetVersion, files: bool = True) -> dict[str, Any]:
    """A version in a ``--json`` document (its files, schema and profile unless ``files=False``)."""
    from shipyard.cli.plain import time_fields

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
    from shipyard.cli.plain import human_size

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
    """Run a plain ``data status`` or ``data add`` and return its exit code; None for Typer to run it.

    The cyclic garbage collector is off meanwhile: these commands make many small objects
    (one or more per file) and few cycles, and would otherwise spend a tenth of their time
    walking them.
    """
    options, rest = _global_options(argv)
    if options is None or rest[:1] != ["data"] or rest[1:2] not in (["status"], ["add"]):
        return None
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        return _status(options, rest[2:]) if rest[1] == "status" else _add(options, rest[2:])
    finally:
        if collecting:
            gc.enable()


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
    resolved = home_and_uri(options)
    if resolved is None:
        return None
    from shipyard.datasets.quick_status import quick_status

    clean = quick_status(resolved[1], resolved[0], names[0] if names else None)
    if clean is None:
        return None
    if as_json:
        from shipyard.datasets.quick_status import reports

        _print(status_document(reports(clean), {}))
    else:
        _print("\n".join(clean_line(*c) for c in clean) if clean else NO_DATASETS)
    return 0


def home_and_uri(options: dict[str, str]) -> tuple[str, str] | None:
    """The home and metadata URI as :func:`~shipyard.core.config.load_settings` resolves them.

    Only these two settings matter to a no-change status, and loading the settings module
    takes longer than the status: so they are resolved here the same way (argument >
    environment > default; the home found by walking up from the working directory).
    With a ``config.toml`` in the home (which may set the URI) or anything unexpected,
    ``load_settings`` resolves them; an error there is None, for Typer to report.
    """
    raw_home = options.get("home") or os.environ.get(_HOME_ENV)
    uri = options.get("uri")
    if uri is None:
        uri = os.environ.get(_URI_ENV) or None
    try:
        home = os.path.realpath(os.path.expanduser(raw_home)) if raw_home else _find_home()
        if not os.path.exists(os.path.join(home, "config.toml")):
            return home, uri if uri is not None else "sqlite:///" + os.path.join(home, "shipyard.db")
    except (OSError, ValueError):
        return None
    from shipyard.core.config import load_settings
    from shipyard.core.errors import ShipyardError

    try:
        settings = load_settings(home=options.get("home"), uri=options.get("uri"))
    except (ShipyardError, OSError, RuntimeError):
        return None
    return str(settings.home), settings.uri


def _find_home() -> str:
    """:func:`~shipyard.core.config.find_home` from the working directory, as a string."""
    here = folder = os.path.realpath(os.getcwd())
    while True:
        candidate = os.path.join(folder, ".shipyard")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return os.path.join(here, ".shipyard")
        folder = parent


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
    if as_json:
        from shipyard.cli.plain import json_text

        _print(json_text({**version_json(version, files=False), "created": created}))
    else:
        _print(added_line(version, created))
    return 0


def _capture_and_record(
    workspace: Workspace, path: str, name: str, message: str | None
) -> tuple[str | None, DatasetVersion]:
    """``datasets.add(path, name, message)``; the id the latest version had before, and the version.

    The database is opened first, as the Typer command does (so its errors come first);
    not beside the capture on another thread: loading SQLAlchemy holds the GIL, and the
    capture, one system call after another, would wait for it after each. An embedded
    database at the newest schema is written with plain ``sqlite3`` instead
    (:mod:`shipyard.datasets.store.sqlite`, :mod:`shipyard.governance.store.sqlite`: the
    same rows as the SQL stores), as SQLAlchemy alone takes longer to import than adding a
    folder of many files takes.
    """
    from shipyard.datasets.capture import capture, stat_cache_for
    from shipyard.datasets.refs import check_dataset_name
    from shipyard.datasets.store.sqlite import open_sqlite_store

    settings = workspace.settings
    lite = None if settings.is_remote else open_sqlite_store(settings.uri)
    try:
        datasets = workspace.datasets if lite is None else _lite_service(workspace, lite)
        check_dataset_name(name)
        snapshot = capture(path, workspace.content, stat_cache_for(settings.home))
        before = latest_id(datasets, name)
        return before, datasets.record(name, snapshot, message)
    finally:
        if lite is not None:
            lite.close()


def _lite_service(workspace: Workspace, store: SqliteDatasetStore) -> DatasetService:
    """A dataset service on the plain-sqlite3 stores of the embedded database."""
    from shipyard.datasets.service import DatasetService
    from shipyard.governance.service import AuditService
    from shipyard.governance.store.sqlite import SqliteAuditStore

    audit = AuditService(SqliteAuditStore(store.database))
    return DatasetService(store, workspace.content, audit=audit, home=workspace.settings.home)


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
    import contextlib

    import typer

    from shipyard.cli.output import error, exit_code

    code = exit_code(exc)
    with contextlib.suppress(typer.Exit):  # error() prints, then raises typer.Exit(code)
        error(exc.message, code)
    return code


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
