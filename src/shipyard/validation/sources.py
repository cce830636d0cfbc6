"""The data a suite runs on, as a DuckDB view: a file, a folder of tabular files, or a frame.

Files become ``read_parquet``/``read_csv``/``read_json`` table functions (from
:func:`shipyard.tabular.relation_sql`), so DuckDB streams them and reads only
the columns a query needs; several files are stacked with ``UNION ALL BY NAME``. A
pandas DataFrame or an Arrow table is registered with the connection, without a copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError, NotFoundError


def tabular_files(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else the tabular files under the folder in path order
    (hidden files and folders skipped)."""
    from shipyard.tabular import TABULAR_SUFFIXES, is_tabular

    if path.is_file():
        return [path]
    if not path.exists():
        raise NotFoundError(f"no such file or folder: {str(path)!r}")
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and is_tabular(p)
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    if not files:
        raise InvalidInputError(f"{str(path)!r} holds no tabular file ({', '.join(TABULAR_SUFFIXES)})")
    return files


def is_frame(data: Any) -> bool:
    """A pandas DataFrame or an Arrow table (checked without importing either)."""
    package = type(data).__module__.partition(".")[0]
    return package in ("pandas", "pyarrow") and hasattr(data, "columns")


def create_view(con: Any, name: str, data: Path | Any) -> list[Path]:
    """Make ``name`` a view of ``data`` (a path, a DataFrame or an Arrow table) in ``con``;
    returns the files it reads (none for a frame)."""
    from shipyard.tabular import from_sql, read_errors

    files: list[Path] = []
    if isinstance(data, Path):
        files = tabular_files(data)
        select = f"SELECT * FROM {from_sql(files)}"
    elif is_frame(data):
        con.register(f"{name}_frame", data)
        select = f"SELECT * FROM {name}_frame"
    else:
        raise InvalidInputError(
            f"cannot validate a {type(data).__name__}: give a dataset version, a path or a DataFrame"
        )
    with read_errors(files or [Path(name)], con):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {select}")
        con.execute(f"DESCRIBE {name}").fetchall()
    return files


def integer_ranges(con: Any, files: list[Path], columns: list[str]) -> dict[str, tuple[int, int, int]]:
    """``column -> (min, max, rows)`` of integer ``columns``, from the footers of Parquet ``files``
    (no row is read): the bounds over every row group, and the rows of the files that hold the
    column. A column is left out when a file is not Parquet or a row group with values has no
    statistics. The bounds are only as good as the writer's statistics: a caller must cope with
    a value outside them (DuckDB's ``bitstring_agg`` raises ``OutOfRangeException``)."""
    from shipyard.tabular import path_sql, tabular_format

    if not files or not columns or any(tabular_format(f) != "parquet" for f in files):
        return {}
    names = ", ".join(literal(c) for c in columns)
    rows = con.execute(
        "SELECT path_in_schema, min(TRY_CAST(stats_min_value AS HUGEINT)), "
        "max(TRY_CAST(stats_max_value AS HUGEINT)), sum(row_group_num_rows), "
        "count(*) FILTER (WHERE (stats_min_value IS NULL OR stats_max_value IS NULL "
        "OR TRY_CAST(stats_min_value AS HUGEINT) IS NULL OR TRY_CAST(stats_max_value AS HUGEINT) IS NULL) "
        "AND row_group_num_rows > 0 AND coalesce(stats_null_count, -1) <> row_group_num_rows) "
        f"FROM parquet_metadata([{', '.join(path_sql(f) for f in files)}]) "
        f"WHERE path_in_schema IN ({names}) GROUP BY path_in_schema"
    ).fetchall()
    return {
        name: (int(low), int(high), int(count))
        for name, low, high, count, unknown in rows
        if low is not None and high is not None and not unknown
    }


def quote(identifier: str) -> str:
    """A DuckDB identifier in double quotes.

    >>> quote('a"b')
    '"a""b"'
    """
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL literal for a str, bool, int or finite float.

    >>> literal("it's"), literal(True), literal(2), literal(0.5)
    ("'it''s'", 'TRUE', '2', '0.5')
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise InvalidInputError(f"cannot use {value!r} as a SQL value")
