"""Run the data plane on uvicorn (uvloop, httptools), in one process or ``workers`` of them.

With several workers, uvicorn's supervisor binds the socket once and starts each worker
in a fresh (spawned) process, giving it an :class:`AppFactory` (settings and options,
pickled) that builds the worker's own workspace and app. SIGTERM or SIGINT stops each
worker gracefully: in-flight requests finish, then the app's lifespan shutdown flushes
the prediction log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipyard.core.config import Settings

if TYPE_CHECKING:
    import uvicorn

    from shipyard.server.dataplane.app import DataPlaneOptions, FastPaths

GRACEFUL_SHUTDOWN_S = 30


@dataclass(frozen=True)
class AppFactory:
    """Builds a worker's app: its own workspace from ``settings``, closed at shutdown."""

    settings: Settings
    options: DataPlaneOptions

    def __call__(self) -> FastPaths:
        from shipyard.server.dataplane.app import create_dataplane
        from shipyard.workspace import Workspace

        options = dataclasses.replace(self.options, freeze_gc=True)  # a process that only serves
        return create_dataplane(Workspace(self.settings), options, close_workspace=True)


SWITCH_INTERVAL_S = 0.0005


def serve(settings: Settings, options: DataPlaneOptions, host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted."""
    import uvicorn

    # The prediction log's writer thread shares the GIL with the event loop: a short switch
    # interval (the default is 5 ms) keeps the loop's wait for it, and so tail latency, short.
    sys.setswitchinterval(SWITCH_INTERVAL_S)

    from shipyard.server.dataplane.transport import HttpProtocol

    config = uvicorn.Config(
        AppFactory(settings, options),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=HttpProtocol,  # httptools, one write per answer
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    shown = f"[{host}]" if ":" in host else host
    names = ", ".join(options.names) if options.names else "every deployment"
    sys.stdout.write(f"Shipyard data plane on http://{shown}:{port} serving {names} ({workers} worker(s))\n")
    sys.stdout.flush()
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    _server_class()(config).run()


def _server_class() -> type[uvicorn.Server]:
    import uvicorn

    class Server(uvicorn.Server):
        """Exits normally after a graceful shutdown on SIGTERM or SIGINT (uvicorn would raise the
        signal again once done, so the process would end killed by it, or with a traceback)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                try:
                    yield
                finally:
                    captured = getattr(self, "_captured_signals", None)
                    if isinstance(captured, list):
                        captured.clear()

    return Server
