"""The records of monitors: their specs, the result of each evaluation, and alerts.

A :class:`Monitor` watches one deployment against a reference with a list of
:class:`CheckSpec` and acts with a list of :class:`ActionSpec`. Each evaluation of a
window is a :class:`MonitorResult` holding one :class:`CheckOutcome` per check; a check
at ``warning`` or ``critical`` raises an :class:`Alert` (``firing`` until a later
window's check is ``ok``: then ``resolved``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.redaction import redact_params, redact_urls_in

__all__ = [
    "ALERT_STATES",
    "SEVERITIES",
    "STATUSES",
    "ActionSpec",
    "Alert",
    "CheckOutcome",
    "CheckSpec",
    "Monitor",
    "MonitorResult",
    "Window",
    "parse_window",
    "worst",
]

STATUSES = ("ok", "warning", "critical", "skipped")
SEVERITIES = ("warning", "critical")
ALERT_STATES = ("firing", "resolved")
_RANK = {"skipped": -1, "ok": 0, "warning": 1, "critical": 2}
_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def worst(statuses: list[str]) -> str:
    """The most severe of ``statuses`` (``ok`` when there is none)."""
    return max(statuses, key=lambda s: _RANK[s], default="ok") if statuses else "ok"


def check_name(name: object, what: str = "monitor") -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"a {what} name is 1-128 letters, digits, '_', '.' or '-' (starting with a letter or digit), "
            f"got {name!r}"
        )
    return name


@dataclass(frozen=True)
class Window:
    """The traffic one evaluation reads: the last ``ms`` milliseconds, or the last ``count`` predictions."""

    ms: int | None = None
    count: int | None = None

    def to_text(self) -> str:
        if self.count is not None:
            return str(self.count)
        assert self.ms is not None
        for unit in ("d", "h", "m", "s"):
            if self.ms % _UNITS_MS[unit] == 0:
                return f"{self.ms // _UNITS_MS[unit]}{unit}"
        return f"{self.ms}ms"


def parse_window(window: object) -> Window:
    """``"1h"``, ``"30m"``, ``"7d"``, ``"90s"``, ``"500ms"`` (time) or an int (that many predictions).

    >>> parse_window("2h").ms, parse_window(1000).count
    (7200000, 1000)
    """
    if isinstance(window, int) and not isinstance(window, bool):
        if window < 1:
            raise InvalidInputError(f"a window of predictions needs at least 1, got {window}")
        return Window(count=window)
    if isinstance(window, str):
        text = window.strip().lower()
        if text.isdigit():
            return parse_window(int(text))
        match = re.fullmatch(r"(\d+)\s*(ms|s|m|h|d)", text)
        if match:
            number, unit = int(match.group(1)), match.group(2)
            ms = number if unit == "ms" else number * _UNITS_MS[unit]
            if ms >= 1:
                return Window(ms=ms)
    raise InvalidInputError(
        f"a window is a duration like '1h', '30m', '7d' or a number of predictions, got {window!r}"
    )


@dataclass(frozen=True)
class CheckSpec:
    """One check of a monitor: ``kind`` (``feature_drift``, ``performance``...) and its parameters."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.default_name())

    def default_name(self) -> str:
        metric = self.params.get("metric")
        return f"{self.kind}:{metric}" if isinstance(metric, str) else self.kind

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckSpec:
        return cls(str(data["kind"]), dict(data.get("params") or {}), str(data.get("name") or ""))


@dataclass(frozen=True, repr=False)
class ActionSpec:
    """What a monitor does: ``notify``, ``retrain``, ``rollback`` (on alerts) or ``canary`` (every window).

    ``params`` hold what the user gave (a webhook URL included); :meth:`public_dict` and
    ``repr`` show secrets redacted (:mod:`shipyard.monitoring.redaction`).
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"ActionSpec(kind={self.kind!r}, params={redact_params(self.kind, self.params)!r})"

    def to_dict(self) -> dict[str, Any]:
        """The action as stored (secrets as given)."""
        return {"kind": self.kind, "params": dict(self.params)}

    def public_dict(self) -> dict[str, Any]:
        """The action as shown and sent over the API (secrets redacted)."""
        return {"kind": self.kind, "params": redact_params(self.kind, self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActionSpec:
        return cls(str(data["kind"]), dict(data.get("params") or {}))


@dataclass(frozen=True)
class Monitor:
    """A versioned monitor spec. ``reference`` is a dataset ref (``"transactions@3"``) or
    ``"content:<digest>"`` (a DataFrame given at creation, kept as Parquet in the content store)."""

    name: str
    deployment: str
    reference: str | None
    window: Window
    checks: tuple[CheckSpec, ...]
    actions: tuple[ActionSpec, ...] = ()
    cooldown_ms: int = 3_600_000
    version: int = 0
    created_at: int = 0
    created_by: str = ""

    def content(self) -> dict[str, Any]:
        """The spec as JSON (what is stored and compared: equal content means no new version).

        Secrets are as the user gave them: show :meth:`to_dict` instead."""
        return {
            "deployment": self.deployment,
            "reference": self.reference,
            "window": self.window.to_text(),
            "checks": [c.to_dict() for c in self.checks],
            "actions": [a.to_dict() for a in self.actions],
            "cooldown_ms": self.cooldown_ms,
        }

    def to_dict(self) -> dict[str, Any]:
        """The spec as shown (CLI, REST API, audit log): the actions' secrets redacted."""
        return {
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at,
            "created_by": self.created_by,
            **self.content(),
            "actions": [a.public_dict() for a in self.actions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Monitor:
        """A monitor from :meth:`to_dict` (as the REST API sends it)."""
        return cls.from_content(
            str(data["name"]), data, int(data["version"]), int(data["created_at"]), str(data["created_by"])
        )

    @classmethod
    def from_content(
        cls, name: str, content: dict[str, Any], version: int, created_at: int, created_by: str
    ) -> Monitor:
        return cls(
            name=name,
            deployment=str(content["deployment"]),
            reference=content.get("reference"),
            window=parse_window(content["window"]),
            checks=tuple(CheckSpec.from_dict(c) for c in content.get("checks", [])),
            actions=tuple(ActionSpec.from_dict(a) for a in content.get("actions", [])),
            cooldown_ms=int(content.get("cooldown_ms", 3_600_000)),
            version=version,
            created_at=created_at,
            created_by=created_by,
        )


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one check on one window: ``value`` against the ``warning`` and ``critical`` limits.

    ``figures`` hold the details (per-column drift, per-version performance...) that the
    report, the Prometheus exporter and the alerts read.
    """

    name: str
    kind: str
    status: str
    value: float | None = None
    warning: float | None = None
    critical: float | None = None
    detail: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckOutcome:
        return cls(**data)


@dataclass(frozen=True)
class MonitorResult:
    """One evaluation of a monitor: the window it read, each check's outcome, what the actions did."""

    id: str
    monitor: str
    monitor_version: int
    created_at: int
    window_start: int | None
    window_end: int
    n_predictions: int
    status: str  # ok | warning | critical | no_data
    checks: tuple[CheckOutcome, ...] = ()
    actions: tuple[dict[str, Any], ...] = ()
    alerts: tuple[str, ...] = ()  # ids of the alerts this result fired
    notes: tuple[str, ...] = ()
    canary: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # URLs in what the actions say are shown redacted (results stored before this did it too)
        object.__setattr__(self, "actions", tuple(_redacted_outcome(a) for a in self.actions))

    def check(self, name: str) -> CheckOutcome | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [c.to_dict() for c in self.checks]
        data["actions"] = list(self.actions)
        data["alerts"] = list(self.alerts)
        data["notes"] = list(self.notes)
        return data

    def to_json(self) -> bytes:
        """:meth:`to_dict` as JSON (numpy values as numbers, non-finite floats as null)."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY, default=_plain)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitorResult:
        values = dict(data)
        values["checks"] = tuple(CheckOutcome.from_dict(c) for c in values.get("checks", []))
        values["actions"] = tuple(values.get("actions", []))
        values["alerts"] = tuple(values.get("alerts", []))
        values["notes"] = tuple(values.get("notes", []))
        return cls(**values)


@dataclass(frozen=True)
class Alert:
    """One alert of one check of one monitor; at most one is ``firing`` per (monitor, check)."""

    id: str
    monitor: str
    check: str
    severity: str  # warning | critical
    state: str  # firing | resolved
    fired_at: int
    last_seen_at: int
    result_id: str  # the monitor result that raised it
    message: str
    value: float | None = None
    count: int = 1  # windows it was seen in while firing
    resolved_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _plain(value: Any) -> Any:
    """What orjson cannot write itself: other floats as numbers (null when not finite), the rest as text."""
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    return str(value)


def _redacted_outcome(outcome: dict[str, Any]) -> dict[str, Any]:
    detail = outcome.get("detail") if isinstance(outcome, dict) else None
    if not isinstance(detail, str) or "://" not in detail:
        return outcome
    return {**outcome, "detail": redact_urls_in(detail)}
