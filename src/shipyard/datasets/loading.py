"""Read the tabular files of a version into one Arrow table (pandas on request).

Which files are tables, and how they are read, is decided by
:mod:`shipyard.tabular` (the same rules the profile uses). Several files must
share one schema and are concatenated in path order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError

FORMATS = ("pandas", "arrow", "path")


def load_tables(files: Sequence[tuple[str, Path]], ref: str) -> Any:
    """The tabular ``(logical path, local path)`` files concatenated into one Arrow table."""
    import pyarrow as pa

    from shipyard.tabular import is_tabular, read_arrow

    chosen = [(logical, path) for logical, path in files if is_tabular(logical)]
    if not chosen:
        raise InvalidInputError(
            f"{ref} has no tabular file (Parquet, CSV, TSV or JSON lines); load it with format='path'"
        )
    tables = [read_arrow([(logical, path)]) for logical, path in chosen]
    first = tables[0].schema
    for (logical, _), table in zip(chosen[1:], tables[1:], strict=True):
        if not table.schema.equals(first):
            raise InvalidInputError(
                f"{ref}: {logical!r} has another schema than {chosen[0][0]!r}, so the files cannot be "
                "concatenated; load the version with format='path' and read them one by one"
            )
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)
