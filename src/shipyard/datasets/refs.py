"""How users name datasets and their versions: ``"name"`` (the latest) or ``"name@3"``.

>>> parse_ref("transactions@3")
DatasetRef(name='transactions', version=3)
>>> parse_ref("transactions")
DatasetRef(name='transactions', version=None)
>>> parse_ref("transactions@x")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: invalid dataset reference 'transactions@x': ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.core.errors import InvalidInputError

MAX_NAME_LENGTH = 256
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_FORM = "use NAME (the latest version) or NAME@VERSION with VERSION a whole number >= 1, e.g. 'sales@3'"
_NAME_RULE = "letters, digits, '_', '-' and '.', starting with a letter or digit"


@dataclass(frozen=True)
class DatasetRef:
    """A parsed reference; ``version`` is None for "the latest"."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


def check_dataset_name(name: object) -> str:
    """``name`` if it is a valid dataset name, else :class:`InvalidInputError`.

    >>> check_dataset_name("sales-2024.eu")
    'sales-2024.eu'
    """
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"a dataset name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"dataset name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
        )
    if not _NAME.fullmatch(name):
        raise InvalidInputError(f"invalid dataset name {name!r}: use {_NAME_RULE}")
    return name


def parse_ref(ref: object) -> DatasetRef:
    """Parse ``"name"`` or ``"name@version"``; anything else raises :class:`InvalidInputError`."""
    if isinstance(ref, DatasetRef):
        return ref
    if not isinstance(ref, str) or not ref:
        raise InvalidInputError(f"invalid dataset reference {ref!r}: {_FORM}")
    name, at, version = ref.partition("@")
    if not name or (at and not re.fullmatch(r"[0-9]+", version)) or (at and int(version) < 1):
        raise InvalidInputError(f"invalid dataset reference {ref!r}: {_FORM}")
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"invalid dataset reference {ref!r}: the name must use {_NAME_RULE}")
    return DatasetRef(name, int(version) if at else None)
