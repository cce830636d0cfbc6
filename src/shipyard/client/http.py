"""One keep-alive HTTP connection pool to a Shipyard server, speaking JSON.

Errors come back as the server's JSON body ``{"error": {"code", "message",
"details"}}`` and are rebuilt with :func:`~shipyard.core.errors.error_from_dict`
(a closed table of codes, nothing imported by name). A server that cannot be
reached raises :class:`~shipyard.core.errors.BackendUnavailable`; idempotent
``GET``/``HEAD`` requests are retried twice on connection errors first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from shipyard.core.errors import (
    AuthenticationRequired,
    BackendUnavailable,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
    ShipyardError,
    error_from_dict,
)

RETRIES = 2
_IDEMPOTENT = frozenset({"GET", "HEAD"})
_BY_STATUS: dict[int, type[ShipyardError]] = {
    400: InvalidInputError,
    401: AuthenticationRequired,
    403: PermissionDenied,
    404: NotFoundError,
    409: ConflictError,
    502: BackendUnavailable,
    503: BackendUnavailable,
    504: BackendUnavailable,
}

Params = Mapping[str, str | int | float | bool | None]


class HttpClient:
    """JSON requests to ``base_url`` on one pooled ``httpx.Client``."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "shipyard-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        content: bytes | Iterable[bytes] | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer (None when empty), or the server's error."""
        headers = {}
        if json is not None:
            content = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        elif content is not None:
            headers["Content-Type"] = "application/octet-stream"
        response = self._send(method, path, params=params, content=content, headers=headers)
        raise_for_error(response)
        if not response.content:
            return None
        return orjson.loads(response.content)

    def exists(self, path: str) -> bool:
        """``HEAD path``: True on 2xx, False on 404, the server's error otherwise."""
        return self.head(path) is not None

    def head(self, path: str) -> Mapping[str, str] | None:
        """``HEAD path``: the answer's headers on 2xx, None on 404, the server's error otherwise."""
        response = self._send("HEAD", path)
        if response.status_code == 404:
            return None
        raise_for_error(response)
        return response.headers

    @contextmanager
    def stream(self, path: str, params: Params | None = None) -> Iterator[Iterator[bytes]]:
        """``GET path`` as a stream of byte chunks (the error body is read and raised)."""
        request = self._client.build_request("GET", path, params=_clean(params))
        try:
            response = self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        try:
            if response.status_code >= 400:
                response.read()
                raise_for_error(response)
            yield _chunks(response, self)
        finally:
            response.close()

    def close(self) -> None:
        self._client.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        attempts = 1 + (RETRIES if method in _IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                return self._client.request(
                    method, path, params=_clean(params), content=content, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise self._unavailable(exc) from exc
                time.sleep(0.1 * 3**attempt)
        raise AssertionError("unreachable")

    def _unavailable(self, exc: httpx.TransportError) -> BackendUnavailable:
        reason = str(exc) or type(exc).__name__
        return BackendUnavailable(f"cannot reach Shipyard server at {self.base_url}: {reason}")


def raise_for_error(response: httpx.Response) -> None:
    """Raise the Shipyard error a non-2xx ``response`` carries."""
    if response.status_code < 400:
        return
    body: Any = None
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        raise error_from_dict(body)
    cls = _BY_STATUS.get(response.status_code, ShipyardError)
    text = response.text[:200] if response.content else response.reason_phrase
    raise cls(
        f"Shipyard server answered {response.status_code} to {response.request.method} "
        f"{response.request.url.path}: {text}"
    )


def _chunks(response: httpx.Response, client: HttpClient) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes()
    except httpx.TransportError as exc:
        raise client._unavailable(exc) from exc


def _clean(params: Params | None) -> dict[str, str | int | float | bool] | None:
    """Query parameters without the ``None`` ones."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}
