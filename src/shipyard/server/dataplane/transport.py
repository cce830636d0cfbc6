"""One write per answer: uvicorn's httptools protocol, with the status line and headers held
until the body follows.

uvicorn writes an answer's head and its body with two ``transport.write`` calls, so two
system calls and two TCP segments for every small answer; on one-row predictions that is
a good part of the server's time. :class:`HttpProtocol` gives uvicorn a transport that
holds the head and sends it with the body in one write. Whatever comes next (another
write, ``close``, or the end of the event loop's current iteration) sends a held head, so
nothing waits longer than that.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeldHeadTransport:
    """A transport that holds a response head until the next write (see the module docstring)."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif data.startswith(b"HTTP/1.") and data.endswith(b"\r\n\r\n"):
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`HeldHeadTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as ones
        held = HeldHeadTransport(cast(asyncio.Transport, transport), asyncio.get_running_loop())
        super().connection_made(held)  # type: ignore[arg-type]
