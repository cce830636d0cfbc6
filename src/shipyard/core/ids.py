"""Identifiers: random, URL-safe, sortable by creation time."""

from __future__ import annotations

import os
import time


def new_id() -> str:
    """A 32-hex-character id whose first 12 characters encode the creation time in ms.

    >>> len(new_id())
    32
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"
