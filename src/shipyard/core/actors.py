"""Who is acting: the name recorded in the audit log for the current call.

The server sets it per request from the bearer token; locally it is the OS user.
"""

from __future__ import annotations

import getpass
from contextvars import ContextVar

_actor: ContextVar[str | None] = ContextVar("shipyard_actor", default=None)


def current_actor() -> str:
    """The acting user's name.

    >>> isinstance(current_actor(), str)
    True
    """
    name = _actor.get()
    if name is not None:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def set_actor(name: str | None) -> object:
    """Set the actor for the current context; returns a token for :func:`reset_actor`."""
    return _actor.set(name)


def reset_actor(token: object) -> None:
    _actor.reset(token)  # type: ignore[arg-type]
