"""Cron schedules of pipelines (croniter), always in UTC; times are ms since the epoch.

>>> check_cron(" 0 3 * * * ")
'0 3 * * *'
>>> day = 86_400_000
>>> latest_fire("0 3 * * *", 2 * day + 3 * 3_600_000) == 2 * day + 3 * 3_600_000  # inclusive
True
>>> count_fires("0 3 * * *", 0, 3 * day)
3
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shipyard.core.errors import InvalidInputError

MAX_COUNT = 10_000


def check_cron(expression: object) -> str:
    """``expression`` stripped, if croniter understands it (5 fields, an optional 6th for seconds,
    or ``@hourly``/``@daily``/...); ``InvalidInputError`` otherwise."""
    from croniter import croniter

    text = expression.strip() if isinstance(expression, str) else ""
    if not text or not croniter.is_valid(text):
        raise InvalidInputError(
            f"schedule must be a cron expression such as '0 3 * * *' (minute hour day month weekday), "
            f"got {expression!r}"
        )
    return text


def latest_fire(expression: str, at_ms: int) -> int:
    """The last fire time at or before ``at_ms``."""
    value: float = _iterator(expression, at_ms + 1).get_prev(float)
    return round(value * 1000)


def next_fire(expression: str, after_ms: int) -> int:
    """The first fire time strictly after ``after_ms``."""
    value: float = _iterator(expression, after_ms).get_next(float)
    return round(value * 1000)


def count_fires(expression: str, after_ms: int, until_ms: int) -> int:
    """How many fire times lie in ``(after_ms, until_ms]`` (counting stops at 10,000)."""
    iterator = _iterator(expression, after_ms)
    count = 0
    while count < MAX_COUNT and round(iterator.get_next(float) * 1000) <= until_ms:
        count += 1
    return count


def _iterator(expression: str, at_ms: int) -> Any:
    from croniter import croniter

    return croniter(expression, datetime.fromtimestamp(at_ms / 1000, tz=UTC))
