"""A stand-in for ``shipyard.datasets.profile`` (written in parallel), for the tests only.

Same signature and error contract: Arrow reads each tabular file (a corrupt Parquet
or ragged CSV raises InvalidInputError naming it); schema, total rows, a small profile.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from typing import Any

import pytest


def install_if_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the stand-in in ``sys.modules`` unless the real module imports."""
    try:
        importlib.import_module("shipyard.datasets.profile")
    except ImportError:
        stub = types.ModuleType("shipyard.datasets.profile")
        stub.profile_files = profile_files  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "shipyard.datasets.profile", stub)


def profile_files(files: list[tuple[str, Path]]) -> tuple[dict[str, Any], int | None, dict[str, Any]]:
    import pyarrow.compute as pc

    from shipyard.tabular import read_arrow, tabular_format

    schema: dict[str, Any] = {}
    profile: dict[str, Any] = {}
    rows: int | None = None
    for logical, path in files:
        kind = tabular_format(logical)
        if kind is None:
            continue
        table = read_arrow([(logical, path)])
        schema[logical] = [[f.name, str(f.type)] for f in table.schema]
        rows = (rows or 0) + table.num_rows
        stats: dict[str, Any] = {}
        for field in table.schema:
            column = table.column(field.name)
            entry: dict[str, Any] = {"null_count": column.null_count}
            if field.type in ("int64", "double"):
                entry["mean"] = pc.mean(column).as_py()
            stats[field.name] = entry
        profile[logical] = stats
    return schema, rows, profile
