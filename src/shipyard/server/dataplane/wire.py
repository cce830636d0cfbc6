"""HTTP plumbing of the data plane: request ids, bounded bodies, JSON in and out.

Every answer carries the request id, in the ``X-Request-ID`` header and in the body:
the caller's own when it sent a sane one (printable ASCII, at most 128 characters),
else a new :func:`~shipyard.core.ids.new_id`.
"""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from shipyard.server.dataplane.inputs import RequestRejected

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID = 128
JSON = "application/json"


def request_id_of(request: Request) -> str:
    """The caller's ``X-Request-ID`` when it is printable ASCII of at most 128 characters, else a new id."""
    given = request.headers.get(REQUEST_ID_HEADER)
    if given and len(given) <= MAX_REQUEST_ID and given.isascii() and given.isprintable():
        return given
    return new_request_id()


def new_request_id() -> str:
    """Shaped like :func:`~shipyard.core.ids.new_id` (32 hex, time first) but drawn from
    :mod:`random`, not ``os.urandom``: no system call on the request path (a request id
    needs to be unique, not unguessable).

    >>> len(new_request_id())
    32
    """
    return f"{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"


async def read_json(request: Request, limit: int) -> Any:
    """The body parsed as JSON: 413 beyond ``limit`` bytes (checked before and while reading), 400 when
    it is not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRejected(413, f"the body is {declared} bytes; this server takes at most {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRejected(413, f"the body is over {limit} bytes, the most this server takes")
        chunks.append(chunk)
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if not body:
        raise RequestRejected(400, "the body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected(400, f"the body is not valid JSON: {exc}") from None


def json_response(
    body: Any, request_id: str, status: int = 200, background: BackgroundTask | None = None
) -> Response:
    content = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY, default=str)
    return Response(
        content, status, headers={REQUEST_ID_HEADER: request_id}, media_type=JSON, background=background
    )


def error_response(exc: RequestRejected, request_id: str) -> Response:
    """``{"error": {code, message, details}, "request_id"}`` with the rejection's status."""
    body = {
        "error": {"code": _code(exc.status), "message": exc.message, "details": exc.details},
        "request_id": request_id,
    }
    return json_response(body, request_id, exc.status)


def _code(status: int) -> str:
    from shipyard.core.errors import ERRORS_BY_CODE, InvalidInputError, ShipyardError

    if status in (400, 413, 422):
        return InvalidInputError.code
    return next((c.code for c in ERRORS_BY_CODE.values() if c.status == status), ShipyardError.code)
