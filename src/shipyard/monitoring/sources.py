"""Tables read one column at a time: pandas DataFrames, Arrow tables and Parquet files.

Monitoring reads a column, reduces it to a profile and lets it go, so that a check
of a wide table never holds more than a few columns at once. Every source hands out
columns as Arrow chunked arrays; Parquet files are read column by column (string
columns straight into dictionary arrays), never whole.

>>> import pandas as pd
>>> source = open_source(pd.DataFrame({"a": [1.5, None], "b": ["x", "y"]}))
>>> source.names, source.num_rows, str(source.type("b"))
(['a', 'b'], 2, 'string')
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ArrowSource",
    "ColumnSource",
    "PandasSource",
    "ParquetSource",
    "is_table_like",
    "numpy_values",
    "open_source",
]


class ColumnSource(Protocol):
    """A table whose columns are read one at a time."""

    @property
    def names(self) -> list[str]: ...

    @property
    def num_rows(self) -> int: ...

    def type(self, name: str) -> pa.DataType:
        """The Arrow type of column ``name`` (read from metadata, not data, where possible)."""
        ...

    def column(self, name: str) -> pa.ChunkedArray:
        """The whole column ``name``."""
        ...


class ArrowSource:
    """An Arrow table already in memory."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    @property
    def names(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def type(self, name: str) -> pa.DataType:
        return self.table.schema.field(_known(self, name)).type

    def column(self, name: str) -> pa.ChunkedArray:
        return self.table.column(_known(self, name))


class PandasSource:
    """A pandas DataFrame; each column is converted to Arrow when it is read."""

    def __init__(self, frame: Any) -> None:
        if not all(isinstance(c, str) for c in frame.columns):
            raise InvalidInputError("column names must be strings")
        if frame.columns.has_duplicates:
            raise InvalidInputError("the DataFrame has duplicate column names")
        self.frame = frame

    @property
    def names(self) -> list[str]:
        return list(self.frame.columns)

    @property
    def num_rows(self) -> int:
        return len(self.frame)

    def type(self, name: str) -> pa.DataType:
        import pyarrow as pa

        dtype = self.frame[_known(self, name)].dtype
        if getattr(dtype, "pyarrow_dtype", None) is not None:
            return dtype.pyarrow_dtype
        kind = getattr(dtype, "kind", "O")
        if kind in "iufbmM" and getattr(dtype, "numpy_dtype", None) is not None:
            return pa.from_numpy_dtype(dtype.numpy_dtype)
        if kind in "iufbmM":
            return pa.from_numpy_dtype(dtype)
        if str(dtype) == "category":
            return pa.dictionary(pa.int32(), pa.string())
        return pa.string()  # object, str and string dtypes: checked when the column is read

    def column(self, name: str) -> pa.ChunkedArray:
        import pyarrow as pa

        series = self.frame[_known(self, name)]
        try:
            return pa.chunked_array([pa.Array.from_pandas(series)])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInputError(f"column {name!r} mixes value types Arrow cannot hold: {exc}") from exc


class ParquetSource:
    """Parquet files (one schema), read one column at a time (footers parsed once).

    String columns are read as dictionary arrays, straight from the files' dictionary
    pages. Each thread gets file handles of its own, so columns can be read in parallel.
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not paths:
            raise InvalidInputError("no Parquet files to read")
        self.paths = [Path(p) for p in paths]
        self._metadata = [pq.read_metadata(p) for p in self.paths]
        self.schema = self._metadata[0].schema.to_arrow_schema()
        self._names = list(self.schema.names)
        self._strings = [
            f.name for f in self.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]
        self._rows = int(sum(m.num_rows for m in self._metadata))
        self._local = threading.local()

    @property
    def names(self) -> list[str]:
        return self._names

    @property
    def num_rows(self) -> int:
        return self._rows

    def type(self, name: str) -> pa.DataType:
        return self.schema.field(_known(self, name)).type

    def column(self, name: str) -> pa.ChunkedArray:
        import pyarrow as pa

        kind = self.type(name)
        chunks: list[Any] = []
        for file in self._files():
            chunks.extend(file.read(columns=[name], use_threads=False).column(0).chunks)
        if not chunks:
            return pa.chunked_array([], type=kind)
        return pa.chunked_array(chunks)

    def _files(self) -> list[Any]:
        """This thread's open files."""
        import pyarrow.parquet as pq

        files: list[Any] | None = getattr(self._local, "files", None)
        if files is None:
            files = [
                pq.ParquetFile(path, metadata=meta, read_dictionary=self._strings)
                for path, meta in zip(self.paths, self._metadata, strict=True)
            ]
            self._local.files = files
        return files


def numpy_values(column: pa.ChunkedArray, dtype: Any) -> Any:
    """The values of a null-free fixed-width column as one numpy array, straight from its buffers.

    (``ChunkedArray.to_numpy`` would import pandas, some 50 MB, for nothing.)
    """
    width = np.dtype(dtype).itemsize
    parts = [
        np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk), offset=chunk.offset * width)
        for chunk in column.chunks
        if len(chunk)
    ]
    if not parts:
        return np.zeros(0, dtype=dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _known(source: ColumnSource, name: str) -> str:
    if name not in source.names:
        raise InvalidInputError(f"no column {name!r}; the columns are: {', '.join(source.names)}")
    return name


def is_table_like(data: object) -> bool:
    """Whether ``data`` is a DataFrame, an Arrow table or a path (what :func:`open_source` takes)."""
    module = type(data).__module__
    return module.startswith(("pandas", "pyarrow")) or isinstance(data, os.PathLike)


def open_source(data: Any) -> ColumnSource:
    """A column source over a pandas DataFrame, an Arrow table, or a path to Parquet file(s).

    A path may name one Parquet file or a folder of them (read in name order). pandas is
    imported only for a DataFrame.
    """
    import pyarrow as pa

    if type(data).__module__.startswith("pandas"):
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return PandasSource(data)
    if isinstance(data, pa.Table):
        return ArrowSource(data)
    if isinstance(data, pa.RecordBatch):
        return ArrowSource(pa.Table.from_batches([data]))
    if isinstance(data, os.PathLike):
        return ParquetSource(_parquet_files(Path(data)))
    raise InvalidInputError(
        f"cannot read {type(data).__name__}: pass a pandas DataFrame, an Arrow table, a dataset "
        "reference like 'name@3', a path to Parquet files, or a ReferenceProfile"
    )


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".parquet", ".pq"))
        if not files:
            raise InvalidInputError(f"no Parquet files under {str(path)!r}")
        return files
    if not path.exists():
        raise InvalidInputError(f"no such file: {str(path)!r}")
    if path.suffix.lower() not in (".parquet", ".pq"):
        raise InvalidInputError(f"{str(path)!r} is not a Parquet file; load it and pass a DataFrame")
    return [path]
