"""From query results to :class:`CheckResult`: observed, expected, failing rows and samples."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.validation.models import (
    Between,
    Check,
    CheckResult,
    Drift,
    DType,
    Expression,
    Freshness,
    InSet,
    NotNull,
    Regex,
    RowCount,
    Unique,
    passes,
)
from shipyard.validation.sources import quote
from shipyard.validation.vocabulary import dtype_family, parse_duration

if TYPE_CHECKING:
    from shipyard.validation.engine import Compiled

SAMPLE_ROWS = 5
MAX_SHOWN_VALUES = 10


def jsonable(value: Any) -> Any:
    """A sampled cell as a JSON value (dates as ISO text, NaN as None, bytes as hex)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def sample_rows(con: Any, where: str) -> list[dict[str, Any]]:
    """Up to ``SAMPLE_ROWS`` rows of ``data`` matching ``where``."""
    cursor = con.execute(f"SELECT * FROM data WHERE {where} LIMIT {SAMPLE_ROWS}")
    names = [d[0] for d in cursor.description]
    return [{n: jsonable(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def expected_text(check: Check) -> str:
    """The condition a check demands, for people.

    >>> expected_text(Between("a", min=0, max=5, mostly=0.9))
    '0 <= a <= 5 (mostly 0.9)'
    """
    mostly = getattr(check, "mostly", 1.0)
    suffix = "" if mostly == 1.0 else f" (mostly {mostly:g})"
    if isinstance(check, NotNull):
        return f"not null{suffix}"
    if isinstance(check, Between):
        low = "" if check.min is None else f"{check.min} <= "
        high = "" if check.max is None else f" <= {check.max}"
        return f"{low}{check.column}{high}{suffix}"
    if isinstance(check, InSet):
        shown = ", ".join(map(str, check.values[:MAX_SHOWN_VALUES]))
        more = ", ..." if len(check.values) > MAX_SHOWN_VALUES else ""
        return f"in {{{shown}{more}}}{suffix}"
    if isinstance(check, Regex):
        return f"matches {check.pattern}{suffix}"
    if isinstance(check, Unique):
        return f"unique{suffix}"
    if isinstance(check, Expression):
        return f"{check.sql}{suffix}"
    if isinstance(check, RowCount):
        low = "" if check.min is None else f"{check.min} <= "
        high = "" if check.max is None else f" <= {check.max}"
        return f"{low}rows{high}"
    if isinstance(check, Freshness):
        return f"age <= {check.max_age}"
    if isinstance(check, DType):
        return check.dtype
    raise AssertionError(check.kind)  # pragma: no cover


def human_age(seconds: float) -> str:
    """An age in its largest unit.

    >>> human_age(30), human_age(5400), human_age(3 * 86400)
    ('30s', '1.5h', '3d')
    """
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s"


def row_results(con: Any, plan: Compiled, values: dict[str, Any]) -> CheckResult:
    """The result of a non-drift check, from the aggregates (plus a sample query if it failed)."""
    check = plan.check
    if isinstance(check, DType):
        ok = plan.column_type.upper().split("(")[0] in (dtype_family(check.dtype) or ())
        return _result(check, ok, plan.column_type, f"{check.column} is {plan.column_type}")
    if isinstance(check, RowCount):
        n = int(values["count(*)"])
        ok = (check.min is None or n >= check.min) and (check.max is None or n <= check.max)
        return _result(check, ok, n, f"{n} rows")
    if isinstance(check, Freshness):
        return _freshness(check, values[plan.newest])
    failing, evaluated = int(values[plan.failing]), int(values[plan.evaluated])
    mostly = getattr(check, "mostly", 1.0)
    ok = passes(failing, evaluated, mostly)
    fraction = failing / evaluated if evaluated else 0.0
    sample = sample_rows(con, plan.bad_rows) if failing else []
    what = "rows" if isinstance(check, NotNull | Expression) else "non-null rows"
    message = f"{failing} of {evaluated} {what} ({fraction:.2%}) fail: expected {expected_text(check)}"
    return CheckResult(
        check=check.to_dict(),
        kind=check.kind,
        column=check.target,
        success=ok,
        observed=1.0 - fraction,
        expected=expected_text(check),
        failing_rows=failing,
        failing_fraction=fraction,
        sample=sample,
        message=message if failing else f"all {evaluated} {what} pass",
        details={"evaluated_rows": evaluated},
    )


def _result(check: Check, ok: bool, observed: Any, says: str, **details: Any) -> CheckResult:
    expected = expected_text(check)
    message = f"{says}; expected {expected}"
    return CheckResult(check.to_dict(), check.kind, check.target, ok, observed, expected, message=message,
                       details=details)  # fmt: skip


def _freshness(check: Freshness, newest: float | None) -> CheckResult:
    if newest is None:
        return _result(check, False, None, f"{check.column} has no values")
    age = now_ms() / 1000 - float(newest)
    ok = age <= parse_duration(check.max_age)
    iso = dt.datetime.fromtimestamp(float(newest), tz=dt.UTC).isoformat()
    return _result(check, ok, human_age(age), f"newest {check.column} is {iso}", newest=iso, age_s=age)


def drift_result(con: Any, check: Drift, reference_view: str) -> CheckResult:
    """Compare the column of the data with the same column of the reference version."""
    from shipyard.stats.drift import drift_test

    col = quote(check.column)
    reference = _column(con, f"SELECT {col} FROM {reference_view} WHERE {col} IS NOT NULL")
    current = _column(con, f"SELECT {col} FROM data WHERE {col} IS NOT NULL")
    found = drift_test(check.test, reference, current, check.threshold)
    says = f"{check.test} = {found.statistic:.4g} (p = {found.p_value})" if found.p_value is not None else (
        f"{check.test} = {found.statistic:.4g}")  # fmt: skip
    limit = f"p-value >= {found.threshold:g}" if found.p_value is not None else f"<= {found.threshold:g}"
    expected = f"{check.test} {limit} vs {check.reference}"
    return CheckResult(
        check=check.to_dict(),
        kind=check.kind,
        column=check.column,
        success=not found.drifted,
        observed=float(found.statistic),
        expected=expected,
        message=f"{says}; {'drifted' if found.drifted else 'no drift'} from {check.reference}",
        details={
            "test": found.test,
            "statistic": float(found.statistic),
            "p_value": None if found.p_value is None else float(found.p_value),
            "threshold": float(found.threshold),
            "reference": check.reference,
            "reference_rows": len(reference),
            "current_rows": len(current),
        },
    )


def _column(con: Any, sql: str) -> Any:
    """One column as a numpy array (only that column is read)."""
    return next(iter(con.execute(sql).fetchnumpy().values()))
