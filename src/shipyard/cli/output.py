"""What the CLI prints: Rich tables, ``--json`` documents, human times, and errors.

``--json`` writes one JSON document to stdout (orjson, keys sorted, indented).
Times appear twice: ``<name>`` as an ISO-8601 UTC string (``...Z``, milliseconds)
and ``<name>_ms`` as integer milliseconds since the epoch.

Every :class:`~shipyard.core.errors.ShipyardError` becomes one red line on stderr,
``error: <message>``, and an exit code by error family, so scripts can branch::

    code  meaning
    0     success
    1     generic failure: any other ShipyardError; a broken audit chain
    2     invalid input: InvalidInputError, and bad options or usage (as Click does)
    3     not found: NotFoundError
    4     conflict or already exists: ConflictError, AlreadyExistsError
    5     permission or authentication: PermissionDenied, AuthenticationRequired
    6     backend unavailable: BackendUnavailable (database, object store, server)
    7     a promotion gate refused: GateFailed (the report is printed first)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich import box
from rich.console import Console, OverflowMethod
from rich.table import Table
from rich.text import Text

from shipyard.cli.plain import human_size as human_size  # re-exported: plain.py needs no Rich
from shipyard.cli.plain import iso as iso
from shipyard.cli.plain import json_text
from shipyard.cli.plain import time_fields as time_fields
from shipyard.core.errors import (
    AlreadyExistsError,
    BackendUnavailable,
    ConflictError,
    GateFailed,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
    ShipyardError,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]

GENERIC, INVALID_INPUT, NOT_FOUND, CONFLICT, PERMISSION, UNAVAILABLE = 1, 2, 3, 4, 5, 6
GATE_FAILED = 7

EXIT_CODES: tuple[tuple[type[ShipyardError], int], ...] = (
    (InvalidInputError, INVALID_INPUT),
    (NotFoundError, NOT_FOUND),
    (AlreadyExistsError, CONFLICT),
    (ConflictError, CONFLICT),
    (PermissionDenied, PERMISSION),
    (BackendUnavailable, UNAVAILABLE),
    (GateFailed, GATE_FAILED),
)


def exit_code(exc: ShipyardError) -> int:
    """The exit code of an error's family.

    >>> exit_code(NotFoundError("x")), exit_code(ShipyardError("x"))
    (3, 1)
    """
    for family, code in EXIT_CODES:
        if isinstance(exc, family):
            return code
    return GENERIC


PIPE_WIDTH = 200


def console() -> Console:
    """A console on the current stdout (so test runners that swap it see the output).

    Piped output is not cut to 80 columns: tables get up to ``PIPE_WIDTH`` characters.
    """
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, PIPE_WIDTH)
    return out


def error(message: str, code: int) -> NoReturn:
    """Print ``error: <message>`` in red on stderr and exit with ``code``."""
    Console(stderr=True, highlight=False).print(
        f"error: {message}", style="red", markup=False, soft_wrap=True
    )
    raise typer.Exit(code)


def fail(exc: ShipyardError) -> NoReturn:
    """Report a ShipyardError as one line on stderr and exit with its family's code."""
    error(exc.message, exit_code(exc))


def print_json(data: Any) -> None:
    """One JSON document on stdout: keys sorted, NaN and infinities as null."""
    typer.echo(json_text(data))


def human_time(ms: int | None) -> str:
    """Local wall-clock time to the minute, or ``-``."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M")


def human_duration(ms: int | None) -> str:
    """A duration in its two largest units.

    >>> [human_duration(x) for x in (None, 850, 12_345, 185_000, 7_500_000, 90_000_000)]
    ['-', '0.85s', '12.3s', '3m 05s', '2h 05m', '1d 01h']
    """
    if ms is None:
        return "-"
    seconds = max(ms, 0) / 1000
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {sec:02d}s"


def short_digest(digest: str, length: int = 12) -> str:
    """``algo:hex`` cut to ``length`` hex characters.

    >>> short_digest("blake3:" + "ab" * 32)
    'blake3:abababababab'
    """
    algo, sep, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:length]}" if sep else digest[:length]


def fmt_value(value: Any) -> str:
    """A param, tag or metric value for a table cell (metrics to 6 significant digits)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def make_table(*columns: str, caption: str | None = None, widths: Mapping[str, int] | None = None) -> Table:
    """A table whose long cells fold onto more lines; with ``widths``, every cell stays on one line
    (cut with an ellipsis) and the named columns keep at least that many characters."""
    overflow: OverflowMethod = "fold" if widths is None else "ellipsis"
    table = Table(caption=caption, box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    table.collapse_padding = True
    for column in columns:
        minimum = None if widths is None else widths.get(column)
        table.add_column(column, overflow=overflow, no_wrap=widths is not None, min_width=minimum)
    return table


def add_row(table: Table, *cells: str | Text, style: str | None = None) -> None:
    """Add a row; plain strings are shown as they are, never read as Rich markup."""
    table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells), style=style)


def print_table(table: Table, heading: str | None = None) -> None:
    """Print a table, under a bold heading when given."""
    out = console()
    if heading:
        out.print(Text(heading, style="bold underline"))
    out.print(table)


def print_mapping(title: str, values: Mapping[str, Any]) -> None:
    """A titled two-column key/value table; nothing when empty."""
    if not values:
        return
    table = make_table("key", "value")
    for key in sorted(values):
        add_row(table, key, fmt_value(values[key]))
    print_table(table, title)


STATUS_STYLES = {"running": "cyan", "finished": "green", "failed": "red", "killed": "yellow"}


def status_text(status: str) -> Text:
    """A status word in its colour (running cyan, finished green, failed red, killed yellow)."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


def print_comparison(title: str, heads: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Rows of ``{key, values, differs}`` side by side; rows whose values differ in bold yellow."""
    table = make_table(title, *heads)
    for row in rows:
        style = "bold yellow" if row["differs"] else None
        add_row(table, row["key"], *map(fmt_value, row["values"]), style=style)
    print_table(table, title.capitalize())


def print_fields(title: str, fields: Iterable[tuple[str, str | Text]]) -> None:
    """A titled block of ``name  value`` lines; plain strings are shown as they are (no markup)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for name, value in fields:
        grid.add_row(name, Text(value) if isinstance(value, str) else value)
    out = console()
    out.print(Text(title, style="bold underline"))
    out.print(grid)


def summarize(value: Any, limit: int = 6) -> str:
    """One line for a nested value: small ones in full, big lists or dicts as count + digest.

    >>> summarize({"b": 1, "a": [1, 2]}), summarize(list(range(9)))
    ('a=[1, 2] b=1', '9 items, sha256:5cfc4211e491')
    """
    if isinstance(value, list | tuple | dict) and len(value) > limit:
        import hashlib

        digest = hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return f"{len(value)} item{'' if len(value) == 1 else 's'}, sha256:{digest[:12]}"
    if isinstance(value, dict):
        return " ".join(f"{k}={summarize(v, limit)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(summarize(v, limit) for v in value) + "]"
    return fmt_value(value)


def columns_fit(fixed: Sequence[int], width: int | None = None, per_column: int = 10) -> int:
    """How many extra columns of ``per_column`` characters fit beside the fixed ones (at least 1)."""
    total = console().width if width is None else width
    return max(1, (total - sum(fixed) - 2 * len(fixed) - 2) // (per_column + 2))
