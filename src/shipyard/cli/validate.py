"""``shipyard validate SUITE.yaml DATA``: run a validation suite, print a table of checks.

``DATA`` is a local file or folder when such a path exists, else a dataset reference
(``name@3``, or ``name`` for the latest version). Results on dataset versions are
stored. Exit codes: 0 when every check passes, 1 when any fails, 2 for an invalid
suite (the message names the line) or bad options.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from shipyard.cli import state
from shipyard.cli.output import JsonFlag, add_row, fmt_value, make_table, print_json, print_table, time_fields

if TYPE_CHECKING:
    from shipyard.validation.models import ValidationResult

FAILED = 1


def result_json(result: ValidationResult) -> dict[str, Any]:
    """The ``--json`` document of a result (times as ISO text and milliseconds)."""
    doc = result.to_dict()
    doc.pop("created_at")
    return {**doc, **time_fields("created_at", result.created_at)}


def print_result(result: ValidationResult) -> None:
    """A table of checks: pass/fail, observed, expected, failing rows."""
    table = make_table("#", "check", "column", "result", "observed", "expected", "failing rows")
    for number, check in enumerate(result.checks, start=1):
        verdict = Text("pass", style="green") if check.success else Text("FAIL", style="bold red")
        observed = f"{check.observed:.4%}" if check.kind in _FRACTIONS else fmt_value(check.observed)
        failing = f"{check.failing_rows} ({check.failing_fraction:.2%})" if check.failing_rows else "-"
        add_row(table, str(number), check.kind, check.column or "-", verdict, observed, str(check.expected),
                failing)  # fmt: skip
    failed = len(result.failed)
    summary = "all checks passed" if not failed else f"{failed} of {len(result.checks)} checks failed"
    print_table(table, f"Suite {result.suite_name} on {result.data_ref}: {summary}")
    for check in result.failed:
        if check.sample:
            sample = make_table(*check.sample[0])
            for row in check.sample:
                add_row(sample, *(fmt_value(v) for v in row.values()))
            print_table(sample, f"Failing rows of {check.kind} on {check.column or 'the table'} (sample)")


_FRACTIONS = ("not_null", "between", "in_set", "regex", "unique", "expression")


def validate_command(
    ctx: typer.Context,
    suite: Annotated[Path, typer.Argument(metavar="SUITE.yaml", help="The suite file.")],
    data: Annotated[str, typer.Argument(metavar="DATA", help="A dataset NAME[@VERSION] or a local path.")],
    as_json: JsonFlag = False,
) -> None:
    """Validate data against a suite; exit 1 if any check fails."""
    from shipyard.validation.suite import load_suite_file

    checked = load_suite_file(suite)  # an invalid suite stops here (exit 2), before any data is read
    result = state(ctx).workspace.validation.validate(checked, data)
    if as_json:
        print_json(result_json(result))
    else:
        print_result(result)
    if not result.success:
        raise typer.Exit(FAILED)
