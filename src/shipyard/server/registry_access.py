"""The registry service of one request: its ``authorize`` asks the request's token.

The workspace's :class:`~shipyard.registry.service.RegistryService` is shared by every
request; each request gets a shallow copy of it (same store, collaborators and
webhook ``notify``) whose ``authorize(needed_role)`` checks the caller's token and
names its user. So the service itself decides who may register, promote, approve,
override or set a policy, exactly as it does embedded. A caller without a token is
possible only where the server does not require auth (loopback without ``--auth``):
it acts as ``anonymous`` with every right, like the rest of the API.
"""

from __future__ import annotations

import copy
from typing import Annotated

from fastapi import Depends

from shipyard.governance.models import Token
from shipyard.registry.service import Authorize, RegistryService
from shipyard.server.auth import ANONYMOUS, WorkspaceDep, by_method
from shipyard.workspace import Workspace

Caller = Annotated[Token | None, by_method]


def token_authorize(workspace: Workspace, token: Token | None) -> Authorize:
    """``authorize(needed_role) -> actor`` for the holder of ``token`` (None: anonymous, every right)."""

    def authorize(needed: str) -> str:
        if token is None:
            return ANONYMOUS
        workspace.auth.authorize(token, needed)
        return token.name

    return authorize


def registry_for(workspace: Workspace, token: Token | None) -> RegistryService:
    """The workspace's registry service, acting for the holder of ``token``."""
    service = copy.copy(workspace.registry)  # shares the store and the lazily built collaborators
    service.authorize = token_authorize(workspace, token)
    return service


async def request_registry(workspace: WorkspaceDep, caller: Caller) -> RegistryService:
    return registry_for(workspace, caller)


RegistryDep = Annotated[RegistryService, Depends(request_registry)]
