"""Identifiers: random, URL-safe, sortable by creation time."""

from __future__ import annotations

import os
import re
import time

from shipyard.core.errors import InvalidInputError

_ID = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    """A 32-hex-character id whose first 12 characters encode the creation time in ms.

    >>> len(new_id())
    32
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def check_id(value: object, what: str = "id") -> str:
    """``value`` if it is shaped like :func:`new_id` (32 lowercase hex), else ``InvalidInputError``.

    For ids a caller chooses for a new record (a remote SDK picks its own).

    >>> check_id("0" * 32) == "0" * 32
    True
    """
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidInputError(f"{what} {value!r} is invalid: ids are 32 lowercase hex characters")
    return value
