"""Names in the feature store, and how users point at features.

Object names (entities, views, on-demand features, services) use letters, digits,
``_``, ``-`` and ``.``, starting with a letter or ``_``. Feature names are Python-like
identifiers, so that they can be DataFrame columns and SQL names alike. A feature is
named ``"view:feature"``; ``"view"`` alone means every feature of the view, and
``"view@2:feature"`` pins a version (the latest otherwise).

>>> parse_feature_ref("user_stats@2:avg_amount_7d")
FeatureRef(view='user_stats', version=2, feature='avg_amount_7d')
>>> str(parse_feature_ref("user_stats"))
'user_stats'
>>> parse_ref("user_stats@x")
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: invalid reference 'user_stats@x': use NAME or NAME@VERSION \
with VERSION a whole number >= 1
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.core.errors import InvalidInputError

MAX_NAME_LENGTH = 128
DTYPES = ("int", "float", "string", "bool", "timestamp")
"""The value types a feature may have."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_FEATURE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_RULE = "letters, digits, '_', '-' and '.', starting with a letter or '_'"


def check_name(value: object, what: str) -> str:
    """``value`` if it is a valid object name, else :class:`InvalidInputError` naming ``what``.

    >>> check_name("user_stats", "feature view")
    'user_stats'
    """
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"a {what} name must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME_LENGTH or not _NAME.fullmatch(value):
        raise InvalidInputError(
            f"invalid {what} name {value!r}: use {_NAME_RULE}, at most {MAX_NAME_LENGTH} characters"
        )
    return value


def check_feature_name(value: object, what: str) -> str:
    """``value`` if it is a valid feature name (an identifier), else :class:`InvalidInputError`."""
    if not isinstance(value, str) or not _FEATURE.fullmatch(value) or len(value) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"invalid {what} {value!r}: use letters, digits and '_', starting with a letter or '_'"
        )
    return value


def check_column(value: object, what: str) -> str:
    """``value`` if it can name a column of a source (any non-empty string without NUL)."""
    if not isinstance(value, str) or not value or "\x00" in value or len(value) > 256:
        raise InvalidInputError(f"{what} must be a non-empty column name, got {value!r}")
    return value


def check_dtype(value: object, what: str) -> str:
    """``value`` if it is one of :data:`DTYPES`."""
    if value not in DTYPES:
        raise InvalidInputError(f"{what} has dtype {value!r}; use one of {', '.join(DTYPES)}")
    return str(value)


@dataclass(frozen=True)
class ObjectRef:
    """``name`` or ``name@version``: a definition, the latest version when ``version`` is None."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


def parse_ref(text: object, what: str = "definition") -> ObjectRef:
    """Parse ``"name"`` or ``"name@3"``."""
    if not isinstance(text, str):
        raise InvalidInputError(f"invalid reference {text!r}: use NAME or NAME@VERSION")
    name, at, version = text.partition("@")
    if at and (not re.fullmatch(r"[0-9]+", version) or int(version) < 1):
        raise InvalidInputError(
            f"invalid reference {text!r}: use NAME or NAME@VERSION with VERSION a whole number >= 1"
        )
    return ObjectRef(check_name(name, what), int(version) if at else None)


@dataclass(frozen=True)
class FeatureRef:
    """``view[@version][:feature]``; ``feature`` None means every feature of the view."""

    view: str
    version: int | None = None
    feature: str | None = None

    def __str__(self) -> str:
        head = self.view if self.version is None else f"{self.view}@{self.version}"
        return head if self.feature is None else f"{head}:{self.feature}"


def parse_feature_ref(text: object) -> FeatureRef:
    """Parse ``"view:feature"``, ``"view@2:feature"``, ``"view"`` or ``"view@2"``."""
    if not isinstance(text, str) or not text:
        raise InvalidInputError(f"invalid feature reference {text!r}: use 'view:feature'")
    head, colon, feature = text.partition(":")
    ref = parse_ref(head, "feature view")
    if colon:
        check_feature_name(feature, f"feature name in reference {text!r}")
    return FeatureRef(ref.name, ref.version, feature if colon else None)
