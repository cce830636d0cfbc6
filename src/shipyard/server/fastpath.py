"""Routes answered ahead of FastAPI's layers, for reads that must take well under a millisecond.

FastAPI wraps every request in its telemetry check, a body-size limit, error middleware,
an exit stack and the router's scan of every route: some 45 µs here, more than twice the
online feature read itself. A route in :attr:`FastPathApp.fast_routes` is a plain ASGI
app called straight away instead; it authenticates and maps its errors through the app's
own exception handlers (see :func:`error_response`), so its answers are the ones the full
stack would give. The same ASGI app is also registered as an ordinary route, which serves
whenever the fast path stands aside: once middleware is added, a body limit is set or the
app runs under a root path (each of which the fast path would otherwise skip).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class FastPathApp(FastAPI):
    """FastAPI, with ``fast_routes`` (``(method, path) -> ASGI app``) answered before everything else."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.fast_routes: dict[tuple[str, str], ASGIApp] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.fast_routes.get((scope["method"], scope["path"]))
            if route is not None and self._plain(scope):
                scope["app"] = self
                await route(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _plain(self, scope: Scope) -> bool:
        """Whether nothing the fast path would skip applies: no middleware, body limit or root path."""
        root = self.root_path or scope.get("root_path")
        return not (self.user_middleware or root) and self.max_body_size is None


async def error_response(scope: Scope, exc: Exception) -> Response:
    """The answer the app's exception handlers give to ``exc`` (``exc`` itself when none fits)."""
    handlers = scope["app"].exception_handlers
    for kind in type(exc).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            response: Response = await handler(Request(scope), exc)
            return response
    raise exc
