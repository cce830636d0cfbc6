"""Plain-text pieces of CLI output that need neither Typer nor Rich.

:mod:`shipyard.cli.output` re-exports them; the lean paths of
:mod:`shipyard.cli.data_lean` use them directly, so both print the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def json_text(data: Any) -> str:
    """One JSON document as ``--json`` prints it: keys sorted, indented, NaN and infinities as null.

    >>> print(json_text({"b": 1, "a": [1.5]}))
    {
      "a": [
        1.5
      ],
      "b": 1
    }
    """
    import orjson

    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def iso(ms: int | None) -> str | None:
    """Milliseconds since the epoch as ISO-8601 UTC.

    >>> iso(1_700_000_000_123)
    '2023-11-14T22:13:20.123Z'
    """
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_fields(name: str, ms: int | None) -> dict[str, Any]:
    """``{name: iso, name_ms: ms}`` for a ``--json`` document.

    >>> time_fields("start_time", 0)
    {'start_time': '1970-01-01T00:00:00.000Z', 'start_time_ms': 0}
    """
    return {name: iso(ms), f"{name}_ms": ms}


def human_size(size: int) -> str:
    """Bytes in binary units.

    >>> human_size(512), human_size(2048), human_size(5 * 1024**3)
    ('512 B', '2.0 KiB', '5.0 GiB')
    """
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
