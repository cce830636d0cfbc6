"""Rules for user-chosen names: metric, param and tag keys, experiment names."""

from __future__ import annotations

import re

from shipyard.core.errors import InvalidInputError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 256

_KEY = re.compile(r"^[A-Za-z0-9_\-./: ]+$")


def check_key(key: object, what: str = "key") -> str:
    """A metric/param/tag key: letters, digits, ``_ - . / : space``; no ``..`` segments.

    >>> check_key("train/loss")
    'train/loss'
    """
    if not isinstance(key, str) or not key:
        raise InvalidInputError(f"{what} must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"{what} {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}"
        )
    if not _KEY.match(key):
        raise InvalidInputError(
            f"{what} {key!r} has illegal characters; use letters, digits, '_', '-', '.', '/', ':' or spaces"
        )
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidInputError(f"{what} {key!r} must not start with '/' or contain a '..' segment")
    return key


def check_value(value: object, limit: int, what: str) -> str:
    """A param or tag value as a string, refused when longer than ``limit``."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidInputError(f"{what} is {len(text)} characters long; the limit is {limit}")
    return text


def check_name(name: object, what: str = "name") -> str:
    """An experiment or run name: non-empty, printable, at most 256 characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{what} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"{what} is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}")
    if not name.isprintable():
        raise InvalidInputError(f"{what} {name!r} contains control characters")
    return name
