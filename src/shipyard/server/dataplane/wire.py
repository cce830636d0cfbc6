"""HTTP plumbing of the data plane: request ids, bounded bodies, JSON in and out.

The two prediction endpoints run as plain ASGI (a :class:`Call`), below Starlette's
request and response objects and middleware: on a one-row request they are a large
share of the time. The other endpoints use Starlette as usual.

Every answer carries the request id, in the ``X-Request-ID`` header and in the body:
the caller's own when it sent a sane one (printable ASCII, at most 128 characters),
else a new one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from shipyard.server.dataplane.inputs import RequestRejected

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID = 128
JSON = "application/json"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def new_request_id() -> str:
    """Shaped like :func:`~shipyard.core.ids.new_id` (32 hex, time first) but drawn from
    :mod:`random`, not ``os.urandom``: no system call on the request path (a request id
    needs to be unique, not unguessable).

    >>> len(new_request_id())
    32
    """
    return f"{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"


def usable_request_id(given: str | None) -> str:
    """``given`` when it is printable ASCII of at most 128 characters, else a new id."""
    if given and len(given) <= MAX_REQUEST_ID and given.isascii() and given.isprintable():
        return given
    return new_request_id()


def request_id_of(request: Request) -> str:
    return usable_request_id(request.headers.get(REQUEST_ID_HEADER))


class Call:
    """One HTTP request on the plain ASGI path: its headers, its body, its answer."""

    __slots__ = ("headers", "path_params", "receive", "request_id", "send")

    def __init__(self, scope: Scope, receive: Receive, send: Send, path_params: dict[str, str]) -> None:
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.path_params = path_params
        self.receive = receive
        self.send = send
        self.request_id = usable_request_id(self.headers.get(REQUEST_ID_HEADER))

    async def json(self, limit: int) -> Any:
        """The body parsed as JSON: 413 beyond ``limit`` bytes (declared or read), 400 when not JSON."""
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestRejected(413, f"the body is {declared} bytes; this server takes at most {limit}")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise RequestRejected(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestRejected(413, f"the body is over {limit} bytes, the most this server takes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return parse_json(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    async def answer(self, body: Any, status: int = 200) -> None:
        content = dumps(body)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            (b"x-request-id", self.request_id.encode("latin-1")),
        ]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": content})


def parse_json(body: bytes) -> Any:
    if not body:
        raise RequestRejected(400, "the body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected(400, f"the body is not valid JSON: {exc}") from None


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY, default=str)


def error_body(exc: RequestRejected, request_id: str) -> dict[str, Any]:
    """``{"error": {code, message, details}, "request_id"}``."""
    return {
        "error": {"code": _code(exc.status), "message": exc.message, "details": exc.details},
        "request_id": request_id,
    }


async def read_json(request: Request, limit: int) -> Any:
    """Like :meth:`Call.json`, for the endpoints that run as Starlette handlers."""
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
    return parse_json(b"".join(chunks))


def json_response(body: Any, request_id: str, status: int = 200) -> Response:
    return Response(dumps(body), status, headers={REQUEST_ID_HEADER: request_id}, media_type=JSON)


def error_response(exc: RequestRejected, request_id: str) -> Response:
    return json_response(error_body(exc, request_id), request_id, exc.status)


def _code(status: int) -> str:
    from shipyard.core.errors import ERRORS_BY_CODE, InvalidInputError, ShipyardError

    if status in (400, 413, 422):
        return InvalidInputError.code
    return next((c.code for c in ERRORS_BY_CODE.values() if c.status == status), ShipyardError.code)
