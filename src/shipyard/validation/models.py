"""Entities of data validation: checks, suites and results. Plain dataclasses, no I/O.

A check is one dataclass per kind; each knows its canonical dictionary, the shape it
has in a suite file (``{column: amount, between: {min: 0, max: 10}}``):

>>> Between("amount", min=0, max=10, mostly=0.99).to_dict()
{'column': 'amount', 'between': {'min': 0, 'max': 10, 'mostly': 0.99}}
>>> NotNull("amount").to_dict()
{'column': 'amount', 'not_null': True}
>>> Suite("s", [NotNull("a")]).digest == Suite("other name", [NotNull("a")]).digest
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Check:
    """Base of every check. ``line`` is where it was written in a suite file (not compared)."""

    kind: ClassVar[str] = ""
    per_row: ClassVar[bool] = False
    line: int | None = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def target(self) -> str | None:
        """The column checked, if any."""
        return getattr(self, "column", None)

    def arguments(self) -> Any:
        """The value under the check's key in its canonical dictionary."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The canonical dictionary (the suite-file shape)."""
        head: dict[str, Any] = {} if self.target is None else {"column": self.target}
        return {**head, self.kind: self.arguments()}


def _with_mostly(args: dict[str, Any], mostly: float) -> dict[str, Any]:
    return args if mostly == 1.0 else {**args, "mostly": mostly}


@dataclass(frozen=True)
class DType(Check):
    """The column's type is ``dtype``: a family (``int``, ``float``, ``string``...) or a DuckDB type."""

    kind: ClassVar[str] = "dtype"
    column: str
    dtype: str

    def arguments(self) -> Any:
        return self.dtype


@dataclass(frozen=True)
class NotNull(Check):
    """At least ``mostly`` of the rows are not NULL."""

    kind: ClassVar[str] = "not_null"
    per_row: ClassVar[bool] = True
    column: str
    mostly: float = 1.0

    def arguments(self) -> Any:
        return _with_mostly({}, self.mostly) or True


@dataclass(frozen=True)
class Between(Check):
    """Non-NULL values lie in ``[min, max]`` (either bound optional)."""

    kind: ClassVar[str] = "between"
    per_row: ClassVar[bool] = True
    column: str
    min: Scalar | None = None
    max: Scalar | None = None
    mostly: float = 1.0

    def arguments(self) -> Any:
        bounds = {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}
        return _with_mostly(bounds, self.mostly)


@dataclass(frozen=True)
class InSet(Check):
    """Non-NULL values are among ``values``."""

    kind: ClassVar[str] = "in_set"
    per_row: ClassVar[bool] = True
    column: str
    values: tuple[Scalar, ...]
    mostly: float = 1.0

    def arguments(self) -> Any:
        return (
            list(self.values) if self.mostly == 1.0 else {"values": list(self.values), "mostly": self.mostly}
        )


@dataclass(frozen=True)
class Regex(Check):
    """Non-NULL values match ``pattern`` in full (RE2 syntax, as DuckDB's ``regexp_full_match``)."""

    kind: ClassVar[str] = "regex"
    per_row: ClassVar[bool] = True
    column: str
    pattern: str
    mostly: float = 1.0

    def arguments(self) -> Any:
        return self.pattern if self.mostly == 1.0 else {"pattern": self.pattern, "mostly": self.mostly}


@dataclass(frozen=True)
class Unique(Check):
    """Non-NULL values are distinct: failing rows = non-NULL count - distinct count."""

    kind: ClassVar[str] = "unique"
    per_row: ClassVar[bool] = True
    column: str
    mostly: float = 1.0

    def arguments(self) -> Any:
        return _with_mostly({}, self.mostly) or True


@dataclass(frozen=True)
class RowCount(Check):
    """The table has between ``min`` and ``max`` rows (either optional)."""

    kind: ClassVar[str] = "row_count"
    min: int | None = None
    max: int | None = None

    def arguments(self) -> Any:
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


@dataclass(frozen=True)
class Expression(Check):
    """A DuckDB SQL boolean that must hold per row; rows where it is NULL are ignored."""

    kind: ClassVar[str] = "expression"
    per_row: ClassVar[bool] = True
    sql: str
    mostly: float = 1.0

    def arguments(self) -> Any:
        return self.sql if self.mostly == 1.0 else {"sql": self.sql, "mostly": self.mostly}


@dataclass(frozen=True)
class Freshness(Check):
    """The newest value of a date/timestamp column is at most ``max_age`` old (``90s``, ``2d``...)."""

    kind: ClassVar[str] = "freshness"
    column: str
    max_age: str

    def arguments(self) -> Any:
        return {"max_age": self.max_age}


@dataclass(frozen=True)
class Drift(Check):
    """The column's distribution has not drifted from the same column of a reference dataset version."""

    kind: ClassVar[str] = "drift"
    column: str
    reference: str
    test: str = "psi"
    threshold: float | None = None

    def arguments(self) -> Any:
        args: dict[str, Any] = {"reference": self.reference, "test": self.test}
        return args if self.threshold is None else {**args, "threshold": self.threshold}


CHECK_TYPES: dict[str, type[Check]] = {
    cls.kind: cls
    for cls in (DType, NotNull, Between, InSet, Regex, Unique, RowCount, Expression, Freshness, Drift)
}


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8: the text digests are computed on."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, init=False)
class Suite:
    """A named list of checks. ``source`` names where it came from (for error messages)."""

    name: str
    checks: tuple[Check, ...]
    source: str = field(default="suite", compare=False, repr=False)

    def __init__(self, name: str, checks: Any, source: str = "suite") -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "checks", tuple(checks))
        object.__setattr__(self, "source", source)

    @property
    def digest(self) -> str:
        """``sha256:`` + hex of the canonical JSON of the checks (the name is not part of it)."""
        text = canonical_json([check.to_dict() for check in self.checks])
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "checks": [check.to_dict() for check in self.checks]}


def passes(failing: int, evaluated: int, mostly: float) -> bool:
    """Whether ``evaluated - failing`` of ``evaluated`` rows reach ``mostly`` (exactly, no rounding).

    >>> passes(0, 0, 1.0), passes(1, 100, 0.99), passes(2, 100, 0.99)
    (True, True, False)
    """
    if evaluated == 0:
        return True
    return Fraction(evaluated - failing, evaluated) >= Fraction(mostly)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    ``observed``/``expected`` are JSON values for people (a pass fraction, a type, a
    row count, an age, a drift statistic / a readable condition). ``failing_rows``
    counts rows that break a per-row check (0 for the others) and ``failing_fraction``
    divides it by the rows the check looked at; ``sample`` holds up to 5 failing rows.
    """

    check: dict[str, Any]
    kind: str
    column: str | None
    success: bool
    observed: Any
    expected: Any
    failing_rows: int = 0
    failing_fraction: float = 0.0
    sample: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "kind": self.kind,
            "column": self.column,
            "success": self.success,
            "observed": self.observed,
            "expected": self.expected,
            "failing_rows": self.failing_rows,
            "failing_fraction": self.failing_fraction,
            "sample": self.sample,
            "message": self.message,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            check=dict(data["check"]),
            kind=data["kind"],
            column=data.get("column"),
            success=bool(data["success"]),
            observed=data.get("observed"),
            expected=data.get("expected"),
            failing_rows=int(data.get("failing_rows", 0)),
            failing_fraction=float(data.get("failing_fraction", 0.0)),
            sample=list(data.get("sample", [])),
            message=data.get("message", ""),
            details=dict(data.get("details", {})),
        )


@dataclass(frozen=True)
class ValidationResult:
    """A suite run on some data. ``data_ref`` is ``name@3``, a path or ``<dataframe>``."""

    suite_name: str
    suite_digest: str
    data_ref: str
    success: bool
    checks: list[CheckResult]
    created_at: int
    dataset_version_id: str | None = None
    id: str | None = None

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [check for check in self.checks if not check.success]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "suite_name": self.suite_name,
            "suite_digest": self.suite_digest,
            "data_ref": self.data_ref,
            "success": self.success,
            "checks": [check.to_dict() for check in self.checks],
            "created_at": self.created_at,
            "dataset_version_id": self.dataset_version_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationResult:
        return cls(
            suite_name=data["suite_name"],
            suite_digest=data["suite_digest"],
            data_ref=data["data_ref"],
            success=bool(data["success"]),
            checks=[CheckResult.from_dict(c) for c in data.get("checks", [])],
            created_at=int(data["created_at"]),
            dataset_version_id=data.get("dataset_version_id"),
            id=data.get("id"),
        )
