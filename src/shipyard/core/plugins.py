"""Backends looked up by URI scheme in tables of dotted paths, imported on first use."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from shipyard.core.errors import InvalidInputError


def scheme_of(uri: str) -> str:
    """The scheme of a URI; a bare path counts as ``file``.

    >>> scheme_of("postgresql+psycopg://u@h/db"), scheme_of("/tmp/x"), scheme_of("C:/x")
    ('postgresql+psycopg', 'file', 'file')
    """
    head, sep, _ = uri.partition("://")
    if not sep:
        head, sep, _ = uri.partition(":")
        if not sep or len(head) == 1:  # a bare path or a Windows drive letter
            return "file"
    return head.lower()


def resolve(table: Mapping[str, str], uri: str, kind: str) -> Any:
    """Import and return the object registered for the scheme of ``uri``."""
    scheme = scheme_of(uri)
    dotted = table.get(scheme)
    if dotted is None:
        known = ", ".join(sorted(table))
        raise InvalidInputError(f"unknown {kind} URI scheme {scheme!r} in {uri!r}; known schemes: {known}")
    module_name, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attr)
