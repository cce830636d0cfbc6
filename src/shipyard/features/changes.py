"""Which changes to a definition break its users: refused by ``apply`` unless forced.

A feature (or on-demand output) whose dtype changes, and an entity or view whose join
keys change, would silently give a model other data under the same name. Adding or
removing features, changing a source, a TTL or a description make a new version too,
but are compatible: a model reads the features it names, and older versions stay
readable as ``name@version``.

>>> old = {"join_keys": ["user_id"]}
>>> incompatible("entity", old, {"join_keys": ["user_id", "country"]})
["join keys change from ['user_id'] to ['user_id', 'country']"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.features.models import ENTITY, ON_DEMAND, VIEW


def _keys(spec: Mapping[str, Any], kind: str) -> list[str]:
    if kind == ENTITY:
        return list(spec.get("join_keys", []))
    return [key for entity in spec.get("entities", []) for key in entity.get("join_keys", [])]


def _types(spec: Mapping[str, Any], field: str) -> dict[str, str]:
    return {name: dtype for name, dtype in spec.get(field, [])}


def incompatible(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why replacing ``old`` by ``new`` would break users (empty when it would not)."""
    problems = []
    if kind in (ENTITY, VIEW) and _keys(old, kind) != _keys(new, kind):
        problems.append(f"join keys change from {_keys(old, kind)} to {_keys(new, kind)}")
    field = {VIEW: "features", ON_DEMAND: "outputs"}.get(kind)
    if field is not None:
        before, after = _types(old, field), _types(new, field)
        for name in sorted(before.keys() & after.keys()):
            if before[name] != after[name]:
                problems.append(f"{name!r} changes type from {before[name]!r} to {after[name]!r}")
    return problems
