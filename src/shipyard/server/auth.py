"""Who is calling and may they: the bearer-token dependency of every protected route.

``GET``/``HEAD`` need the ``viewer`` role, other methods ``editor``; a router may
ask for more (tokens and the audit log need ``admin``). When the server does not
require auth, a request without a token acts as ``anonymous`` with every right
(loopback only: the runner forces auth on for any other interface); a token that
is sent is still checked, held to its role, and names the actor. The actor is set on the request's
context, so the audit events the services record carry it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from shipyard.core.actors import set_actor
from shipyard.core.errors import AuthenticationRequired
from shipyard.governance.models import Role, Token
from shipyard.workspace import Workspace

ANONYMOUS = "anonymous"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_workspace(request: Request) -> Workspace:
    """The workspace the app was built with."""
    workspace: Workspace = request.app.state.workspace
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def bearer_secret(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, None when there is no header."""
    # The raw (lowercased) headers, as Starlette's ``Headers`` reads them, without its
    # KeyError when the header is absent: a few microseconds off every request.
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]
    raw = next((value for name, value in headers if name == b"authorization"), None)
    if raw is None:
        return None
    header = raw.decode("latin-1")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthenticationRequired("malformed Authorization header: send 'Authorization: Bearer <token>'")
    return secret.strip()


def require(role: Role | None = None) -> Callable[[Request], Awaitable[Token | None]]:
    """A dependency that authenticates the request and checks ``role`` (None: by HTTP method)."""

    async def check(request: Request) -> Token | None:
        workspace: Workspace = request.app.state.workspace
        secret = bearer_secret(request)
        if secret is None and not request.app.state.require_auth:
            set_actor(ANONYMOUS)
            return None
        token = await run_in_threadpool(workspace.auth.authenticate, secret)
        set_actor(token.name)
        # A token that is sent is always held to its role, even where auth is optional.
        needed = role or (Role.VIEWER if request.method in _READS else Role.EDITOR)
        workspace.auth.authorize(token, needed)
        return token

    return check


#: Role by HTTP method: viewer reads, editor writes.
by_method = Depends(require())
#: Token, user and audit-log administration.
admin_only = Depends(require(Role.ADMIN))
#: The caller's token on an admin route, None for an anonymous caller (loopback, no ``--auth``).
AdminToken = Annotated[Token | None, admin_only]
#: Reads sent as POST (a search body).
viewer_only = Depends(require(Role.VIEWER))
