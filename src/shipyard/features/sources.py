"""Where a feature view's rows come from: a DuckDB relation over its source, checked first.

:func:`open_source` resolves a view's source without reading its rows: a dataset
version becomes its local Parquet files (through the datasets service), a path or glob
its files, a ``SELECT`` a subquery in which ``{name@3}`` stands for a dataset version.
The relation's schema is bound (``DESCRIBE``) and compared with the view: every join
key, timestamp and feature column must be there with a type that fits its dtype,
before any join runs.

Every relation carries ``__sy_pos``, the row's place in the source (file order, then
row order in the file), which breaks ties between rows of the same entity and time.
"""

from __future__ import annotations

import glob as globbing
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from shipyard.core.errors import InvalidInputError
from shipyard.features.models import FeatureView, source_kind
from shipyard.tabular import path_sql, relation_sql, tabular_format

if TYPE_CHECKING:
    import duckdb

    from shipyard.datasets.models import DatasetVersion
    from shipyard.datasets.service import DatasetService

    Datasets: TypeAlias = DatasetService | Callable[[], DatasetService | None] | None
    """The datasets service, or a function giving it: called only by a source that reads a dataset."""

POS = "__sy_pos"
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9][A-Za-z0-9_.\-]*(?:@[0-9]+)?)\}")
_INT = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_INT |= {"UBIGINT", "UHUGEINT"}
_FLOAT = {"FLOAT", "DOUBLE", "REAL"}
_TIME = {"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMPTZ_NS", "TIMESTAMP_MS"}
_TIME |= {"TIMESTAMP_S", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE_NS"}
_NS = {"TIMESTAMP_NS", "TIMESTAMPTZ_NS", "TIMESTAMP WITH TIME ZONE_NS"}
_ACCEPTS = {
    "int": {"int"},
    "float": {"float", "int"},
    "string": {"string"},
    "bool": {"bool"},
    "timestamp": {"timestamp"},
}
SQL_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}
"""The DuckDB type each dtype is read as."""


def family(duck_type: str) -> str:
    """The dtype family of a DuckDB type (``"other"`` for lists, structs, blobs...).

    >>> family("DECIMAL(18,3)"), family("TIMESTAMP WITH TIME ZONE"), family("BLOB")
    ('float', 'timestamp', 'other')
    """
    upper = duck_type.upper().strip('"')
    if upper == "NULL":  # a column with no value at all (all null): it fits any dtype
        return "null"
    if upper in _INT:
        return "int"
    if upper in _FLOAT or upper.startswith("DECIMAL"):
        return "float"
    if upper == "VARCHAR" or upper.startswith("ENUM"):
        return "string"
    if upper == "BOOLEAN":
        return "bool"
    if upper in _TIME:
        return "timestamp"
    return "other"


def quote(name: str) -> str:
    """``name`` as a DuckDB identifier.

    >>> print(quote('a"b'))
    "a""b"
    """
    return '"' + name.replace('"', '""') + '"'


def epoch_sql(column: str, duck_type: str) -> str:
    """The column as integer epoch time: nanoseconds for a ``_NS`` type, else microseconds."""
    function = "epoch_ns" if duck_type.upper() in _NS else "epoch_us"
    return f"{function}({quote(column)})"


@dataclass
class Source:
    """A view's source, resolved and checked; ``relation`` reads it (with ``__sy_pos``)."""

    view: FeatureView
    relation: str
    columns: dict[str, str]
    label: str
    rows: int | None = None
    datasets: list[DatasetVersion] = field(default_factory=list)
    needs_table: bool = False

    @property
    def unit(self) -> str:
        """``"ns"`` or ``"us"``: the resolution of the timestamp field, in which times are compared."""
        return "ns" if self.columns[self.view.timestamp_field].upper() in _NS else "us"

    def time_sql(self) -> str:
        return epoch_sql(self.view.timestamp_field, self.columns[self.view.timestamp_field])

    def created_sql(self) -> str | None:
        created = self.view.created_timestamp_field
        return None if created is None else epoch_sql(created, self.columns[created])

    def prepare(self, con: duckdb.DuckDBPyConnection, alias: str) -> None:
        """Make the relation cheap to read twice: a query source becomes a temporary table."""
        if self.needs_table:
            with duckdb_errors(self.label):
                con.execute(f"CREATE OR REPLACE TEMP TABLE {alias} AS SELECT * FROM {self.relation}")
                self.rows = int(con.sql(f"SELECT count(*) FROM {alias}").fetchall()[0][0])
            self.relation, self.needs_table = alias, False


def open_source(con: duckdb.DuckDBPyConnection, view: FeatureView, datasets: Datasets) -> Source:
    """Resolve and check ``view``'s source; raises :class:`InvalidInputError` naming the culprit."""
    kind = source_kind(view.source)
    label = f"feature view {view.name!r} (source {view.source!r})"
    if kind == "sql":
        source = _sql_source(view, datasets, label)
    else:
        versions: list[DatasetVersion] = []
        if kind == "dataset":
            files, version = _dataset_files(view.source, datasets, label)
            versions.append(version)
        else:
            files = _path_files(view.source, label)
        source = _files_source(con, view, files, label)
        source.datasets = versions
    with duckdb_errors(label):
        described = con.sql(f"DESCRIBE SELECT * FROM {source.relation}").fetchall()
    source.columns = {str(row[0]): str(row[1]) for row in described}
    check_columns(source)
    return source


def check_columns(source: Source) -> None:
    """Every column the view names is in the source, with a type its dtype accepts."""
    view, columns = source.view, source.columns
    wanted = [*view.join_keys, view.timestamp_field]
    if view.created_timestamp_field is not None:
        wanted.append(view.created_timestamp_field)
    wanted.extend(view.feature_names)
    missing = [name for name in wanted if name not in columns]
    if missing:
        shown = ", ".join(sorted(c for c in columns if c != POS)[:20])
        raise InvalidInputError(
            f"{source.label} has no column {missing[0]!r}" + (f" (nor {missing[1:]})" if missing[1:] else "")
            + f"; its columns: {shown}",
            details={"view": view.name, "missing": missing},
        )  # fmt: skip
    for field_name in (view.timestamp_field, view.created_timestamp_field):
        if field_name is not None and family(columns[field_name]) != "timestamp":
            raise InvalidInputError(
                f"{source.label}: {field_name!r} is {columns[field_name]}, not a timestamp",
                details={"view": view.name, "column": field_name},
            )
    for name, dtype in view.dtypes.items():
        found = family(columns[name])
        if found not in _ACCEPTS[dtype] and found != "null":
            raise InvalidInputError(
                f"{source.label}: feature {name!r} is declared {dtype!r} but the column is {columns[name]}",
                details={"view": view.name, "feature": name, "dtype": dtype, "column_type": columns[name]},
            )


# -- files ---------------------------------------------------------------------------
def _dataset_files(ref: str, given: Datasets, label: str) -> tuple[list[tuple[str, Path]], DatasetVersion]:
    """The tabular files of a dataset version as ``(logical path, local path)``, in path order."""
    datasets = given() if callable(given) else given
    if datasets is None:
        raise InvalidInputError(f"{label}: reading a dataset needs the datasets service")
    version = datasets.get(ref)
    root = datasets.local_path(version.ref)
    if version.kind == "file":
        files = [(version.files[0].path, root)]
    else:
        files = [(f.path, root.joinpath(*f.path.split("/"))) for f in version.files]
    tables = sorted((logical, path) for logical, path in files if tabular_format(logical) is not None)
    if not tables:
        raise InvalidInputError(f"{label}: {version.ref} has no tabular file (Parquet, CSV, TSV, JSON lines)")
    return tables, version


def _path_files(pattern: str, label: str) -> list[tuple[str, Path]]:
    if any(c in pattern for c in "*?["):
        matches = globbing.glob(pattern, recursive=True)  # noqa: PTH207  (an absolute pattern)
        found = sorted(p for p in matches if Path(p).is_file())
        if not found:
            raise InvalidInputError(f"{label}: no file matches {pattern!r}")
        return [(p, Path(p)) for p in found]
    if not Path(pattern).is_file():
        raise InvalidInputError(f"{label}: no such file {pattern!r}")
    return [(pattern, Path(pattern))]


def _files_source(
    con: duckdb.DuckDBPyConnection, view: FeatureView, files: list[tuple[str, Path]], label: str
) -> Source:
    """Parquet files are read in place, numbered from their footers; other formats via a table."""
    if all(tabular_format(name) == "parquet" for name, _ in files):
        listed = "[" + ", ".join(path_sql(path) for _, path in files) + "]"
        with duckdb_errors(label):
            counts = [
                int(r[0]) for r in con.sql(f"SELECT num_rows FROM parquet_file_metadata({listed})").fetchall()
            ]
        position = "file_row_number"
        if len(files) > 1:
            offsets = [0]
            for count in counts[:-1]:
                offsets.append(offsets[-1] + count)
            position = f"file_row_number + {offsets}[file_index::BIGINT + 1]"
        reader = f"read_parquet({listed}, can_have_nan=true, file_row_number=true)"
        relation = f"(SELECT * EXCLUDE (file_row_number), {position} AS {POS} FROM {reader})"
        return Source(view, relation, {}, label, rows=sum(counts))
    parts = [f"SELECT * FROM {relation_sql(path, name)}" for name, path in files]
    union = " UNION ALL BY NAME ".join(parts)
    return Source(view, _numbered(union), {}, label, needs_table=True)


def _numbered(query: str) -> str:
    return f"(SELECT *, row_number() OVER () - 1 AS {POS} FROM ({query}))"


# -- SQL -----------------------------------------------------------------------------
def _sql_source(view: FeatureView, datasets: Datasets, label: str) -> Source:
    check_select(view.source, label)
    versions: list[DatasetVersion] = []

    def dataset(match: re.Match[str]) -> str:
        files, version = _dataset_files(match.group(1), datasets, label)
        versions.append(version)
        if all(tabular_format(name) == "parquet" for name, _ in files):
            listed = ", ".join(path_sql(path) for _, path in files)
            return f"(SELECT * FROM read_parquet([{listed}], can_have_nan=true))"
        return "(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {relation_sql(p, n)}" for n, p in files) + ")"

    query = _PLACEHOLDER.sub(dataset, view.source)
    return Source(view, _numbered(query), {}, label, datasets=versions, needs_table=True)


def check_select(query: str, label: str) -> None:
    """``query`` is exactly one ``SELECT`` statement (no ``COPY``, ``ATTACH``, second statement...)."""
    import duckdb

    try:
        statements = duckdb.extract_statements(_PLACEHOLDER.sub("(SELECT 1)", query))
    except duckdb.Error as exc:
        raise InvalidInputError(f"{label}: the query does not parse: {exc}") from exc
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise InvalidInputError(f"{label}: a query source must be exactly one SELECT statement")


@contextmanager
def duckdb_errors(label: str, details: dict[str, Any] | None = None) -> Iterator[None]:
    """DuckDB errors raised in the block, as :class:`InvalidInputError` naming ``label``."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        reason = str(exc).split("\n")[0]
        raise InvalidInputError(
            f"cannot read {label}: {reason}", details={"reason": reason, **(details or {})}
        ) from exc


__all__ = ["POS", "SQL_TYPES", "Source", "check_select", "duckdb_errors", "family", "open_source", "quote"]
