"""``shipyard data status`` on a lean path, and the words every status report is printed with.

Scripts call ``data status`` in loops, and most of the time nothing changed. So the
console script (:mod:`shipyard.cli.entry`) first hands ``[--home H] [--uri U] data
status [NAME] [--json]`` to :func:`run_lean`, which answers the no-change case from the
stat cache and the embedded database with the standard library alone
(:mod:`shipyard.datasets.quick_status`): no Typer, Rich, SQLAlchemy, pandas or DuckDB.
Any other case (a change, an error, a remote server, another option) returns None and
the Typer command runs as usual. Both print with the functions below, so they print
the same bytes.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.datasets.reports import StatusReport

NO_DATASETS = "no datasets yet: add one with `shipyard data add PATH --name NAME`"
_GLOBAL_OPTIONS = ("--home", "--uri")


def status_json(r: StatusReport) -> dict[str, Any]:
    """One report in the ``--json`` document."""
    return {**vars(r), "clean": r.clean}


def status_document(reports: list[StatusReport], problems: dict[str, str]) -> str:
    """The ``--json`` output of ``data status`` (as :func:`shipyard.cli.output.print_json` writes it)."""
    import orjson

    doc = {"datasets": [status_json(r) for r in reports], "errors": problems}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def up_to_date_line(r: StatusReport) -> str:
    """What ``data status`` prints for a clean source."""
    return f"{r.ref}: up to date ({r.unchanged_count} files in {r.source_path})"


def parse(argv: list[str]) -> tuple[dict[str, str], str | None, bool] | None:
    """``(global options, NAME, --json)`` of a plain ``data status`` command line, else None."""
    options: dict[str, str] = {}
    rest = list(argv)
    while rest and rest[0].split("=", 1)[0] in _GLOBAL_OPTIONS:
        flag, eq, value = rest.pop(0).partition("=")
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        options[flag[2:]] = value
    if rest[:2] != ["data", "status"]:
        return None
    as_json = "--json" in rest[2:]
    names = [arg for arg in rest[2:] if arg != "--json"]
    if len(names) > 1 or any(arg.startswith("-") for arg in names):
        return None
    return options, (names[0] if names else None), as_json


def run_lean(argv: list[str]) -> int | None:
    """Print a no-change status and return 0, or return None for the Typer command to run."""
    parsed = parse(argv)
    if parsed is None:
        return None
    options, name, as_json = parsed
    from shipyard.core.config import load_settings
    from shipyard.core.errors import ShipyardError
    from shipyard.datasets.quick_status import quick_status

    try:
        settings = load_settings(**options)
        reports = quick_status(settings.uri, settings.home, name)
    except (ShipyardError, OSError):
        return None
    if reports is None:
        return None
    if as_json:
        text = status_document(reports, {})
    else:
        text = "\n".join(up_to_date_line(r) for r in reports) if reports else NO_DATASETS
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return 0
