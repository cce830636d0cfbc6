"""The one place errors become HTTP answers, all of the shape ``{"error": {code, message, details}}``.

* :class:`~shipyard.core.errors.ShipyardError` -> its ``status`` and ``to_dict()``;
* a request FastAPI cannot parse -> 400 ``invalid_input`` naming the field;
* an unknown route -> 404 ``not_found``; a wrong method -> 405 ``invalid_input``;
* anything else -> 500 ``shipyard_error``, logged here, with no traceback in the body.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shipyard.core.errors import ERRORS_BY_CODE, InvalidInputError, NotFoundError, ShipyardError
from shipyard.server.encoding import json_response

log = logging.getLogger("shipyard.server")
MAX_LISTED = 5


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(ShipyardError, _shipyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _shipyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipyardError)
    return json_response(exc.to_dict(), exc.status)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic location as ``body.metrics[0][1]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("float", "int", "str", "bool") or str(part).startswith(("literal[", "function-")):
            continue  # the branch of a union that was tried, not a field
        else:
            text += f".{part}" if text else str(part)
    return text or "request"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems: list[dict[str, str]] = []
    for err in exc.errors():
        item = {"field": _field(err.get("loc", ())), "message": str(err.get("msg", "is invalid"))}
        if item not in problems:
            problems.append(item)
    shown = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:MAX_LISTED])
    more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
    message = f"invalid request: {shown}{more}"
    return json_response(error_body(InvalidInputError.code, message, {"errors": problems[:50]}), 400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path}; see /docs for the API"
        return json_response(error_body(NotFoundError.code, message), 404)
    if exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}; see /docs for the API"
        return json_response(error_body(InvalidInputError.code, message), 405)
    code = next((c.code for c in ERRORS_BY_CODE.values() if c.status == exc.status_code), ShipyardError.code)
    return json_response(error_body(code, str(exc.detail)), exc.status_code)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = f"internal server error ({type(exc).__name__}); the server log has the details"
    return json_response(error_body(ShipyardError.code, message), 500)
