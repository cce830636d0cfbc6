"""Compare two versions: files, schemas of tabular files, numeric profile statistics.

>>> from shipyard.datasets.models import DatasetVersion, FileEntry
>>> a = DatasetVersion("1", "d", 1, "x", 0, "folder", (FileEntry("a.csv", "h1", 3),), 3,
...                    schema={"a.csv": [["id", "BIGINT"]]}, profile={"a.csv": {"id": {"mean": 1.0}}})
>>> b = DatasetVersion("2", "d", 2, "y", 0, "folder", (FileEntry("a.csv", "h2", 4),), 4,
...                    schema={"a.csv": [["id", "DOUBLE"], ["x", "VARCHAR"]]},
...                    profile={"a.csv": {"id": {"mean": 1.5}}})
>>> d = diff_versions(a, b)
>>> [c.path for c in d.changed], d.schema_changes["a.csv"].type_changed, d.profile_deltas["a.csv"]
(['a.csv'], [('id', 'BIGINT', 'DOUBLE')], {'id': {'mean': (1.0, 1.5, 0.5)}})
"""

from __future__ import annotations

import math
from typing import Any

from shipyard.datasets.models import DatasetVersion
from shipyard.datasets.reports import ChangedFile, DatasetDiff, SchemaChange


def diff_versions(a: DatasetVersion, b: DatasetVersion) -> DatasetDiff:
    """What changed from ``a`` to ``b``."""
    old = {f.path: f for f in a.files}
    new = {f.path: f for f in b.files}
    changed = [ChangedFile(p, old[p], new[p]) for p in sorted(old.keys() & new.keys()) if old[p] != new[p]]
    schema_changes = {}
    for path in sorted(a.schema.keys() | b.schema.keys()):
        change = diff_schema(a.schema.get(path, []), b.schema.get(path, []))
        if change.added or change.removed or change.type_changed:
            schema_changes[path] = change
    deltas = {}
    for path in sorted(a.profile.keys() & b.profile.keys()):
        found = profile_deltas(a.profile[path], b.profile[path])
        if found:
            deltas[path] = found
    return DatasetDiff(
        a=a.ref,
        b=b.ref,
        added=[new[p] for p in sorted(new.keys() - old.keys())],
        removed=[old[p] for p in sorted(old.keys() - new.keys())],
        changed=changed,
        unchanged_count=len(old.keys() & new.keys()) - len(changed),
        schema_changes=schema_changes,
        profile_deltas=deltas,
        row_count=(a.row_count, b.row_count),
    )


def diff_schema(a: list[list[str]], b: list[list[str]]) -> SchemaChange:
    """Columns added, removed, and whose type changed, between two ``[[column, type], ...]``."""
    old = {col: typ for col, typ in a}
    new = {col: typ for col, typ in b}
    return SchemaChange(
        added=[[c, t] for c, t in b if c not in old],
        removed=[[c, t] for c, t in a if c not in new],
        type_changed=[(c, old[c], new[c]) for c, _ in b if c in old and old[c] != new[c]],
    )


def profile_deltas(
    a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]
) -> dict[str, dict[str, tuple[float, float, float]]]:
    """``{column: {stat: (a, b, b - a)}}`` for numeric stats present in both that differ."""
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for column in a.keys() & b.keys():
        stats = {}
        for stat in a[column].keys() & b[column].keys():
            x, y = a[column][stat], b[column][stat]
            if _number(x) and _number(y) and x != y:
                stats[stat] = (float(x), float(y), float(y) - float(x))
        if stats:
            out[column] = dict(sorted(stats.items()))
    return dict(sorted(out.items()))


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
