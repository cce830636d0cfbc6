"""Checks of what callers pass the registry: version numbers, times, model-card fields.

>>> check_version("3"), to_ms(0)
(3, 0)
>>> from datetime import datetime
>>> to_ms(datetime(1970, 1, 1, 0, 0, 1)) == to_ms(datetime.fromisoformat("1970-01-01T01:00:01+01:00")) == 1000
True
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from shipyard.core.errors import InvalidInputError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def check_version(value: object) -> int:
    """A version number (a whole number >= 1, or its text), else :class:`InvalidInputError`."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"a model version is a whole number >= 1, got {value!r}")
    return value


def to_ms(at: datetime | int) -> int:
    """A time as ms since the epoch: an int as is, a datetime (naive meaning UTC) converted."""
    if isinstance(at, datetime):
        aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return (aware - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(at, bool) or not isinstance(at, int):
        raise InvalidInputError(f"a time is a datetime or ms since the epoch, got {at!r}")
    return at


def check_card_fields(fields: Mapping[str, str | None] | None) -> dict[str, str | None] | None:
    """Model-card fields checked: keys like metric keys, values text (None removes the field)."""
    from shipyard.core.names import check_key

    if fields is None:
        return None
    if not isinstance(fields, Mapping):
        raise InvalidInputError(f"fields is a mapping of field name to text, got {type(fields).__name__}")
    clean: dict[str, str | None] = {}
    for key, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"card field {key!r} must be text (or None to remove it), got {value!r}")
        clean[check_key(key, "card field")] = value
    return clean


def check_webhook(url: object, events: str | Sequence[str], known: Sequence[str]) -> list[str]:
    """The events of a webhook as a list, after checking the URL and that each event (a name or a
    shell pattern like ``"alias.*"``) matches at least one of the ``known`` events."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"a webhook URL starts with http:// or https://, got {url!r}")
    wanted = [events] if isinstance(events, str) else list(events)
    unknown = [e for e in wanted if not isinstance(e, str) or not fnmatch.filter(known, e)]
    if not wanted or unknown:
        raise InvalidInputError(
            f"webhook events {unknown or wanted} match no event; events are: {', '.join(known)} "
            "(or a pattern such as '*' or 'alias.*')"
        )
    return wanted
