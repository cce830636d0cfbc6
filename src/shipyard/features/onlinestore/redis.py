"""An online store in Redis: one hash per feature view, ``sy:fv:<view>``, field = entity key.

A batch is one ``MULTI``/``EXEC`` pipeline of ``HSET`` commands (readers see all of it or
none), a read is one ``HGET`` or ``HMGET``. ``pip install 'shipyard[redis]'``.

URIs are those of redis-py (``redis://[user:password@]host:port/db``, ``rediss://`` for
TLS, ``unix:///path.sock?db=0``) plus an optional ``prefix`` query parameter for the hash
names (default ``sy:fv:``), for example to share one Redis between projects::

    redis://cache.internal:6379/2?prefix=team-a:fv:
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shipyard.core.errors import BackendUnavailable, InvalidInputError
from shipyard.features.onlinestore.base import OnlineStore

DEFAULT_PREFIX = "sy:fv:"
CHUNK = 10_000  # fields per HSET / HMGET command
SOCKET_TIMEOUT_S = 10.0


def split_prefix(uri: str) -> tuple[str, str]:
    """``uri`` without its ``prefix`` query parameter, and that prefix (or the default).

    >>> split_prefix("redis://h:6379/2?prefix=a:&ssl_cert_reqs=none")
    ('redis://h:6379/2?ssl_cert_reqs=none', 'a:')
    """
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((value for name, value in query if name == "prefix"), DEFAULT_PREFIX)
    rest = urlencode([(name, value) for name, value in query if name != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class RedisOnlineStore(OnlineStore):
    """Latest feature rows in Redis hashes; the client is thread-safe (a connection pool)."""

    def __init__(self, uri: str, home: str | Path | None = None) -> None:
        try:
            import redis
        except ImportError as exc:
            raise InvalidInputError(
                "the redis online store needs the redis client: pip install 'shipyard[redis]'"
            ) from exc
        url, self.prefix = split_prefix(uri)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self._data_error: type[Exception] = redis.DataError
        try:
            self._client: Any = redis.Redis.from_url(
                url, decode_responses=False, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=5.0
            )
        except ValueError as exc:
            raise InvalidInputError(f"invalid Redis URI {uri!r}: {exc}") from exc
        parts = urlsplit(url)  # for error messages, without credentials
        port = f":{parts.port}" if parts.port else ""
        self._where = f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"

    def _name(self, view: str) -> str:
        return self.prefix + view

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except self._data_error as exc:
            raise InvalidInputError(f"online store {self._where}: {exc}") from exc
        except self._errors as exc:
            raise BackendUnavailable(f"online store {self._where}: {exc}") from exc

    def write_batch(self, view: str, records: Sequence[tuple[str, bytes]]) -> None:
        if not records:
            return
        name = self._name(view)
        with self._translate():
            pipe = self._client.pipeline(transaction=True)
            for start in range(0, len(records), CHUNK):
                pipe.hset(name, mapping=dict(records[start : start + CHUNK]))
            pipe.execute()

    def read(self, view: str, keys: Sequence[str]) -> list[bytes | None]:
        name = self._name(view)
        with self._translate():
            if len(keys) == 1:
                return [self._client.hget(name, keys[0])]
            if len(keys) <= CHUNK:
                return list(self._client.hmget(name, keys)) if keys else []
            pipe = self._client.pipeline(transaction=False)
            for start in range(0, len(keys), CHUNK):
                pipe.hmget(name, keys[start : start + CHUNK])
            return [value for chunk in pipe.execute() for value in chunk]

    def delete_view(self, view: str) -> int:
        name = self._name(view)
        with self._translate():
            pipe = self._client.pipeline(transaction=True)
            pipe.hlen(name)
            pipe.delete(name)
            count, _ = pipe.execute()
        return int(count)

    def count(self, view: str) -> int:
        with self._translate():
            return int(self._client.hlen(self._name(view)))

    def close(self) -> None:
        self._client.close()
