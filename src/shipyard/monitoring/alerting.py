"""Alert states from check outcomes: fire, de-duplicate, escalate, resolve.

For each check of a monitor, at most one alert is ``firing``. On each evaluation:

- a check at ``warning``/``critical`` with no firing alert **fires** a new alert, unless
  an alert of the same check fired less than ``cooldown_ms`` ago: that one is
  re-opened (``firing`` again, counted) without firing anew, so a flapping check does not
  notify every window;
- a check still failing while its alert fires is **de-duplicated**: the alert's
  ``count`` and ``last_seen_at`` move on; if its severity rose from warning to critical,
  that is an escalation and fires (actions act on it);
- a check back to ``ok`` **resolves** its alert;
- a ``skipped`` check (no data) changes nothing.

Only fired alerts run the monitor's actions and are recorded in the audit log as
``alert.fired`` on ``monitor:<name>`` (what ``sy.on_alert`` triggers on).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from shipyard.core.ids import new_id
from shipyard.monitoring.monitor_models import Alert, CheckOutcome

__all__ = ["AlertChanges", "update_alerts"]


@dataclass
class AlertChanges:
    """What one evaluation did to the alerts: every alert written, and which fired or resolved."""

    written: list[Alert] = field(default_factory=list)
    fired: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)


def update_alerts(
    monitor: str,
    result_id: str,
    outcomes: tuple[CheckOutcome, ...],
    latest: Callable[[str], Alert | None],
    now: int,
    cooldown_ms: int,
) -> AlertChanges:
    """The alert changes for ``outcomes``; ``latest(check)`` is the newest alert of a check."""
    changes = AlertChanges()
    for outcome in outcomes:
        if outcome.status == "skipped":
            continue
        last = latest(outcome.name)
        if outcome.status == "ok":
            if last is not None and last.state == "firing":
                done = dataclasses.replace(last, state="resolved", resolved_at=now, last_seen_at=now)
                changes.written.append(done)
                changes.resolved.append(done)
            continue
        _failing(monitor, result_id, outcome, last, now, cooldown_ms, changes)
    return changes


def _failing(
    monitor: str,
    result_id: str,
    outcome: CheckOutcome,
    last: Alert | None,
    now: int,
    cooldown_ms: int,
    changes: AlertChanges,
) -> None:
    message = f"{monitor}/{outcome.name} is {outcome.status}: {outcome.detail}"
    if last is not None and (last.state == "firing" or now - last.fired_at < cooldown_ms):
        escalated = last.severity == "warning" and outcome.status == "critical"
        updated = dataclasses.replace(
            last,
            state="firing",
            resolved_at=None,
            last_seen_at=now,
            count=last.count + 1,
            severity="critical" if escalated else last.severity,
            value=outcome.value,
            message=message,
        )
        if escalated:
            updated = dataclasses.replace(updated, fired_at=now, result_id=result_id)
            changes.fired.append(updated)
        changes.written.append(updated)
        return
    alert = Alert(
        id=new_id(),
        monitor=monitor,
        check=outcome.name,
        severity=outcome.status,
        state="firing",
        fired_at=now,
        last_seen_at=now,
        result_id=result_id,
        message=message,
        value=outcome.value,
    )
    changes.written.append(alert)
    changes.fired.append(alert)
