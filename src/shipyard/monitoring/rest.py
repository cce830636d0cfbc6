"""Monitors on a Shipyard server, over ``/api/v1/monitors`` and ``/api/v1/alerts`` (remote mode).

:class:`RestMonitors` has the public methods of
:class:`~shipyard.monitoring.monitors.MonitorService` that a client uses (create, get,
list, results, alerts, run, report, alert rules), each one request, so ``sy.monitor``
and ``shipyard monitors ...`` work unchanged with ``SHIPYARD_URI=http(s)://...``. The
server checks every spec as it is checked embedded, runs the monitor (its prediction
log, registry and scheduler are there) and checks roles: viewers read, editors write.

A DataFrame reference is written here as Parquet to the server's artifact store and
sent as ``"content:<digest>"``; a dataset reference is sent as given. Monitors come back
as the server shows them: secrets in actions redacted.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.client.http import HttpClient
from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.monitor_models import (
    ActionSpec,
    Alert,
    CheckSpec,
    Monitor,
    MonitorResult,
    check_name,
    parse_window,
)

if TYPE_CHECKING:
    from shipyard.storage.cas import ContentStore

MONITORS = "/api/v1/monitors"
ALERTS = "/api/v1/alerts"


class RestMonitors:
    """The monitors of the server at ``uri``; ``content`` (the server's artifact store, as the
    client reaches it) is given as a zero-argument callable, built on first use."""

    def __init__(
        self,
        uri: str,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        content: Callable[[], ContentStore],
    ) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)
        self._content = content

    def __repr__(self) -> str:
        return f"RestMonitors({self.uri!r})"

    def close(self) -> None:
        self.http.close()

    # -- specs -----------------------------------------------------------------------------
    def create(
        self,
        name: str,
        deployment: str,
        reference: Any = None,
        window: str | int = "1h",
        checks: Sequence[CheckSpec] = (),
        actions: Sequence[ActionSpec] = (),
        cooldown: str | int = "1h",
    ) -> Monitor:
        """As :meth:`MonitorService.create`: a new version on the server, or the latest unchanged."""
        check_name(name)
        checks, actions = _checked(checks, CheckSpec, "checks"), _checked(actions, ActionSpec, "actions")
        cooldown_ms = cooldown if isinstance(cooldown, int) else parse_window(cooldown).ms
        body = {
            "deployment": deployment,
            "reference": self._reference(reference),
            "window": parse_window(window).to_text(),
            "checks": [c.to_dict() for c in checks],
            "actions": [a.to_dict() for a in actions],  # as given: the server keeps them
            "cooldown_ms": int(cooldown_ms or 0),
        }
        return Monitor.from_dict(self.http.request("PUT", _path(name), json=body))

    def _reference(self, reference: Any) -> str | None:
        if reference is None or isinstance(reference, str):
            return reference
        from shipyard.monitoring.monitors import store_reference_frame

        return store_reference_frame(reference, self._content())

    def get(self, name: str, version: int | None = None) -> Monitor:
        return Monitor.from_dict(self.http.request("GET", _path(name), params={"version": version}))

    def list(self) -> builtins.list[Monitor]:
        return [Monitor.from_dict(m) for m in self.http.request("GET", MONITORS)]

    def results(self, name: str, limit: int = 100) -> builtins.list[MonitorResult]:
        """Results of monitor ``name``, newest first."""
        found = self.http.request("GET", _path(name, "/results"), params={"limit": limit})
        return [MonitorResult.from_dict(r) for r in found]

    def alerts(
        self, monitor: str | None = None, state: str | None = None, limit: int = 100
    ) -> builtins.list[Alert]:
        """Alerts (of one monitor, in one state), newest first."""
        params = {"monitor": monitor, "state": state, "limit": limit}
        return [Alert(**a) for a in self.http.request("GET", ALERTS, params=params)]

    # -- runs and exports ------------------------------------------------------------------
    def run(self, name: str, now: int | None = None) -> MonitorResult:
        """Evaluate the monitor's current window on the server (editor)."""
        return MonitorResult.from_dict(self.http.request("POST", _path(name, "/run"), json={"now": now}))

    def report_html(self, name: str, limit: int = 100) -> str:
        with self.http.stream(_path(name, "/report"), params={"limit": limit}) as chunks:
            return b"".join(chunks).decode("utf-8")

    def alert_rules(self, for_: str = "5m") -> dict[str, Any]:
        rules: dict[str, Any] = self.http.request("GET", f"{ALERTS}/prometheus-rules", params={"for": for_})
        return rules

    def run_due(self, now: int | None = None) -> builtins.list[MonitorResult]:
        raise InvalidInputError(
            "due monitors are run by `shipyard scheduler` on the server's own database, not through it"
        )


def _path(name: str, tail: str = "") -> str:
    check_name(name)
    return f"{MONITORS}/{quote(name, safe='')}{tail}"


def _checked(items: Sequence[Any], kind: type, what: str) -> builtins.list[Any]:
    if isinstance(items, str | bytes) or not all(isinstance(i, kind) for i in items):
        raise InvalidInputError(f"{what} must be a list of sy.{what}.* objects")
    return builtins.list(items)
