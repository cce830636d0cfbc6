"""Feedback items as callers send them (one dict or a list), checked before anything is stored.

An item is ``{"request_id": ..., "label": ..., "ts": ...}``: ``label`` is any JSON value
(not null), ``ts`` (optional: now) when the outcome was observed, as ms since the
epoch, a datetime (naive meaning UTC) or an ISO-8601 string.

>>> check_items({"request_id": "r1", "label": 1, "ts": 5})
[FeedbackItem(request_id='r1', label=1, ts=5)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shipyard.core.errors import InvalidInputError

MAX_ITEMS = 100_000
MAX_ID_LENGTH = 128
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedbackItem:
    request_id: str
    label: Any
    ts: int | None = None


def to_ms(at: datetime | int | str) -> int:
    """A time as ms since the epoch: an int as is; a datetime (naive meaning UTC) or an ISO-8601
    string converted.

    >>> to_ms("1970-01-01T00:00:01Z"), to_ms(datetime(1970, 1, 1, 0, 0, 2))
    (1000, 2000)
    """
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(f"{at!r} is not an ISO-8601 time (like 2026-01-31T12:00:00Z)") from None
    if isinstance(at, datetime):
        aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return (aware - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(at, bool) or not isinstance(at, int):
        raise InvalidInputError(f"a time is ms since the epoch, a datetime or an ISO-8601 string, got {at!r}")
    return at


def check_items(items: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[FeedbackItem]:
    """The items checked; an :class:`InvalidInputError` names the first bad one."""
    listed = [items] if isinstance(items, Mapping) else items
    if isinstance(listed, str | bytes) or not isinstance(listed, Sequence):
        raise InvalidInputError("feedback is an item {request_id, label, ts?} or a list of them")
    if len(listed) > MAX_ITEMS:
        raise InvalidInputError(f"at most {MAX_ITEMS} feedback items per call, got {len(listed)}")
    return [_item(i, item) for i, item in enumerate(listed)]


def _item(index: int, item: Any) -> FeedbackItem:
    where = f"feedback item {index}"
    if not isinstance(item, Mapping):
        raise InvalidInputError(f"{where}: expected {{request_id, label, ts?}}, got {type(item).__name__}")
    unknown = set(item) - {"request_id", "label", "ts"}
    if unknown:
        raise InvalidInputError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    request_id = item.get("request_id")
    if not isinstance(request_id, str) or not request_id or len(request_id) > MAX_ID_LENGTH:
        raise InvalidInputError(f"{where}: request_id must be a non-empty string, got {request_id!r}")
    if item.get("label") is None:
        raise InvalidInputError(f"{where} ({request_id}): the label is missing")
    ts = item.get("ts")
    try:
        when = None if ts is None else to_ms(ts)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where} ({request_id}): {exc.message}") from None
    return FeedbackItem(request_id, _plain(item["label"]), when)


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as Python values (labels are stored as JSON)."""
    return value.tolist() if hasattr(value, "tolist") else value
