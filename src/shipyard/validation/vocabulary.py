"""The words of a suite: drift test names, duration units and dtype families."""

from __future__ import annotations

import re

from shipyard.core.errors import InvalidInputError

DRIFT_TESTS = ("psi", "ks", "chi2", "wasserstein", "jensen_shannon")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DTYPE_FAMILIES = {
    "int": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT"),
    "float": ("FLOAT", "DOUBLE"),
    "decimal": ("DECIMAL",),
    "string": ("VARCHAR",),
    "bool": ("BOOLEAN",),
    "date": ("DATE",),
    "timestamp": ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"),
    "time": ("TIME", "TIME WITH TIME ZONE"),
    "bytes": ("BLOB",),
}  # fmt: skip
DTYPE_ALIASES = {"integer": "int", "str": "string", "boolean": "bool", "datetime": "timestamp",
                 "double": "float", "binary": "bytes"}  # fmt: skip
DTYPE_FAMILIES["number"] = DTYPE_FAMILIES["int"] + DTYPE_FAMILIES["float"] + DTYPE_FAMILIES["decimal"]
DUCKDB_TYPES = frozenset(t for types in DTYPE_FAMILIES.values() for t in types) | {"UUID", "INTERVAL"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(value: str | float) -> float:
    """Seconds in a duration: a number of seconds, or ``<number><unit>`` with unit s, m, h, d or w.

    >>> parse_duration("2d"), parse_duration("90s"), parse_duration(1.5)
    (172800.0, 90.0, 1.5)
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidInputError(f"bad duration {value!r}: use a number and a unit s, m, h, d or w, like 2d")
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


def dtype_family(name: str) -> tuple[str, ...] | None:
    """The DuckDB base types a dtype name accepts, or None if the name is unknown.

    >>> dtype_family("Integer")[:2], dtype_family("double"), dtype_family("VARCHAR"), dtype_family("x")
    (('TINYINT', 'SMALLINT'), ('FLOAT', 'DOUBLE'), ('VARCHAR',), None)
    """
    key = name.strip().lower()
    key = DTYPE_ALIASES.get(key, key)
    if key in DTYPE_FAMILIES:
        return DTYPE_FAMILIES[key]
    upper = re.sub(r"\(.*\)$", "", name.strip().upper())
    return (upper,) if upper in DUCKDB_TYPES else None
