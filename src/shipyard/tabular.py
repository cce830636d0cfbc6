"""Which files are tables, and how DuckDB reads them.

A file is tabular when its name ends with one of :data:`TABULAR_SUFFIXES`:

=========================================  ==========  ==========================================
suffix                                     format      read with
=========================================  ==========  ==========================================
``.parquet``, ``.pq``                      parquet     ``read_parquet``
``.csv``, ``.csv.gz``                      csv         ``read_csv``, comma, header row
``.tsv``, ``.tsv.gz``                      tsv         ``read_csv``, tab, header row
``.jsonl``, ``.ndjson`` (and ``.gz``)      jsonl       ``read_json``, one object per line
=========================================  ==========  ==========================================

CSV and TSV files are read strictly: the delimiter, the quote (``"``, doubled to
escape), the header row, no comment lines and no skipped leading lines (``skip=0``) are
fixed rather than sniffed, ``strict_mode`` is on and ``null_padding`` is off. So a row
with too few or too many fields is an error, never a row padded with NULLs, a file read
as one column, or leading rows dropped as a "preamble" (what DuckDB's sniffer does to
a short file whose third row is long). Column types are still detected.

Parquet files are read with ``can_have_nan=true``: writers such as pyarrow leave NaN out
of a column's min/max statistics (as the Parquet spec asks), and DuckDB otherwise
trusts those statistics to fold ``isnan(x)`` to false and to get ``x != 1.0`` wrong on
NaN rows (duckdb/duckdb#25521).

Functions take one path or a sequence of files; each file is a path, or a ``(name,
path)`` pair when the local path has no telling suffix (a blob in the content-addressed
store): the *name* (the file's path inside the dataset) then decides the format and
compression, and names the file in errors.

Every read error (missing or unreadable file, corrupt Parquet, ragged CSV, malformed
JSON line) becomes :class:`~shipyard.core.errors.InvalidInputError` whose message
names the file and says what is wrong; ``details`` carries ``path`` and ``reason``.

Paths are embedded in SQL as string literals with single quotes doubled and the glob
characters ``*``, ``?`` and ``[`` escaped, so a file called ``it's[1].csv`` is read
as itself and never as a pattern.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, cast

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "TABULAR_SUFFIXES",
    "TableFile",
    "TableFiles",
    "connect",
    "from_sql",
    "is_tabular",
    "open_table",
    "path_sql",
    "read_arrow",
    "read_errors",
    "read_pandas",
    "relation_sql",
    "sql_string",
    "tabular_format",
]

TableFile: TypeAlias = "str | os.PathLike[str] | tuple[str, str | os.PathLike[str]]"
"""A file to read: a path, or a ``(name, local path)`` pair."""

TableFiles: TypeAlias = "str | os.PathLike[str] | Sequence[TableFile]"
"""One path, or a sequence of files (a single ``(name, path)`` pair goes in a list)."""

TABULAR_SUFFIXES: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "tsv",
    ".tsv.gz": "tsv",
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson": "jsonl",
    ".ndjson.gz": "jsonl",
}

_CSV_OPTIONS = (
    "quote='\"', escape='\"', header=true, skip=0, comment='', "
    "auto_detect=true, strict_mode=true, null_padding=false"
)
_DELIMITERS = {"csv": ",", "tsv": "\\t"}
_GLOB_CHARS = re.compile(r"([*?\[])")
_MAX_REASON = 300


@dataclass(frozen=True)
class _File:
    """A file to read: ``name`` gives the format and appears in errors."""

    name: str
    path: Path


def tabular_format(name: str | os.PathLike[str]) -> str | None:
    """The format of a file called ``name`` (``parquet``, ``csv``, ``tsv``, ``jsonl``) or None.

    >>> tabular_format("data/train.csv.gz"), tabular_format("model.pkl")
    ('csv', None)
    """
    lowered = os.fspath(name).lower()
    for suffix in sorted(TABULAR_SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            return TABULAR_SUFFIXES[suffix]
    return None


def is_tabular(name: str | os.PathLike[str]) -> bool:
    """Whether a file called ``name`` is read as a table.

    >>> is_tabular("a.PARQUET"), is_tabular("notes.txt")
    (True, False)
    """
    return tabular_format(name) is not None


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal (single quotes doubled).

    >>> print(sql_string("it's"))
    'it''s'
    """
    return "'" + value.replace("'", "''") + "'"


def path_sql(path: str | os.PathLike[str]) -> str:
    """A SQL literal DuckDB reads as exactly this file (absolute), never as a glob pattern.

    >>> print(path_sql("/data/it's[1].csv"))
    '/data/it''s[[]1].csv'
    """
    return sql_string(_GLOB_CHARS.sub(r"[\1]", str(Path(path).absolute())))


_path_literal = path_sql


def relation_sql(path: str | os.PathLike[str], name: str | None = None) -> str:
    """The DuckDB table-function call that reads one tabular file.

    ``name`` (default: ``path``) is the file name whose suffix gives the format and
    compression, for a local path without one.

    >>> print(relation_sql("/data/it's.csv"))
    read_csv('/data/it''s.csv', compression='none', delim=',', quote='"', escape='"', header=true, skip=0, comment='', auto_detect=true, strict_mode=true, null_padding=false)
    >>> print(relation_sql("/cas/ab/cdef", name="events.jsonl.gz"))
    read_json('/cas/ab/cdef', compression='gzip', format='newline_delimited')
    """  # noqa: E501
    label = os.fspath(path) if name is None else name
    fmt = tabular_format(label)
    literal = _path_literal(Path(path))
    compression = "'gzip'" if label.lower().endswith(".gz") else "'none'"
    if fmt == "parquet":
        return f"read_parquet({literal}, can_have_nan=true)"
    if fmt in _DELIMITERS:
        return f"read_csv({literal}, compression={compression}, delim='{_DELIMITERS[fmt]}', {_CSV_OPTIONS})"
    if fmt == "jsonl":
        return f"read_json({literal}, compression={compression}, format='newline_delimited')"
    known = ", ".join(TABULAR_SUFFIXES)
    raise InvalidInputError(
        f"{label}: not a tabular file (known suffixes: {known})",
        details={"path": label, "reason": "not a tabular file"},
    )


def from_sql(files: TableFiles) -> str:
    """A FROM-clause expression reading every file of ``files`` as one table.

    One file gives :func:`relation_sql`; several give a ``UNION ALL BY NAME`` of
    them (columns matched by name, missing ones NULL).
    """
    return _union_sql(_as_files(files))


def _union_sql(items: list[_File]) -> str:
    if len(items) == 1:
        return relation_sql(items[0].path, items[0].name)
    selects = " UNION ALL BY NAME ".join(f"SELECT * FROM {relation_sql(f.path, f.name)}" for f in items)
    return f"({selects})"


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection set up for reading files."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    return con


def open_table(
    files: TableFiles, connection: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyRelation:
    """A lazy DuckDB relation over ``files`` (one file or several, unioned by name).

    The files are checked to exist and their schemas are bound now, so a missing
    file, a corrupt Parquet footer or an unparseable CSV header fails here. Errors
    met later while rows are read (a ragged row far into a CSV) are raised by
    DuckDB when the relation runs: run it inside ``with read_errors(files):`` to get
    :class:`InvalidInputError` instead.

    >>> open_table("missing.parquet")
    Traceback (most recent call last):
    ...
    shipyard.core.errors.InvalidInputError: cannot read missing.parquet: no such file
    """
    items = _as_files(files)
    for item in items:
        _check_readable(item)
    con = connection if connection is not None else connect()
    with _translated(items, con):
        return con.sql(f"SELECT * FROM {_union_sql(items)}")


def read_arrow(files: TableFiles) -> pa.Table:
    """Every row of ``files`` as one Arrow table."""
    relation = open_table(files)
    with read_errors(files):
        return relation.to_arrow_table()


def read_pandas(files: TableFiles) -> pd.DataFrame:
    """Every row of ``files`` as one pandas DataFrame."""
    relation = open_table(files)
    with read_errors(files):
        return cast("pd.DataFrame", relation.to_df())


@contextmanager
def read_errors(files: TableFiles, connection: duckdb.DuckDBPyConnection | None = None) -> Iterator[None]:
    """Turn DuckDB errors raised inside the block into :class:`InvalidInputError`.

    The message names the failing file: the one DuckDB mentions, else (several
    files) the first one that fails when read alone.
    """
    with _translated(_as_files(files), connection):
        yield


@contextmanager
def _translated(items: list[_File], connection: duckdb.DuckDBPyConnection | None) -> Iterator[None]:
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        culprit = _culprit(items, str(exc), connection)
        message = str(exc)
        if culprit is not None:  # say the file's name, not the blob's local path
            message = message.replace(str(culprit.path.absolute()), culprit.name)
        name = culprit.name if culprit is not None else ", ".join(item.name for item in items)
        reason = _reason(message)
        raise InvalidInputError(
            f"cannot read {name}: {reason}", details={"path": name, "reason": reason}
        ) from exc


def _as_files(files: TableFiles) -> list[_File]:
    """``files`` as a non-empty list of :class:`_File`."""
    if isinstance(files, str | os.PathLike):
        files = [files]
    items: list[_File] = []
    for item in files:
        if isinstance(item, tuple):
            items.append(_File(str(item[0]), Path(item[1])))
        else:
            items.append(_File(os.fspath(item), Path(item)))
    if not items:
        raise InvalidInputError("no files to read", details={"reason": "no files"})
    return items


def _check_readable(item: _File) -> None:
    """Fail early, with a plain message, for a path DuckDB would reject obscurely."""
    reason = None
    if not item.path.exists():
        reason = "no such file"
    elif item.path.is_dir():
        reason = "is a directory, not a file"
    elif not os.access(item.path, os.R_OK):
        reason = "permission denied"
    if reason is not None:
        raise InvalidInputError(
            f"cannot read {item.name}: {reason}", details={"path": item.name, "reason": reason}
        )
    relation_sql(item.path, item.name)  # raises for a file that is not tabular


def _culprit(items: list[_File], message: str, connection: duckdb.DuckDBPyConnection | None) -> _File | None:
    """The file of ``items`` an error is about, if one can be told."""
    if len(items) == 1:
        return items[0]
    for item in items:
        if str(item.path.absolute()) in message:
            return item
    import duckdb

    con = connection if connection is not None else connect()
    for item in items:
        try:
            for _batch in con.sql(f"SELECT * FROM {relation_sql(item.path, item.name)}").to_arrow_reader():
                pass
        except duckdb.Error:
            return item
    return None


_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")


def _reason(message: str) -> str:
    """The useful part of a DuckDB error message: no prefix, hints or option dump."""
    text = _PREFIX.sub("", message.strip())
    for marker in ("\nPossible fixes", "\n\n", "\nThe search space used was"):
        text = text.split(marker, 1)[0]
    if "Error when sniffing file" in text or "not possible to automatically detect" in text:
        return (
            "cannot parse it as a table: rows have different numbers of fields, "
            "or the delimiter or quoting is not the expected one"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = "; ".join(lines[:3]) or message
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."
