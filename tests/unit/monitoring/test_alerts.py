"""Alert states: fire, de-duplicate, escalate, resolve, cooldown."""

from __future__ import annotations

from shipyard.monitoring.alerting import update_alerts
from shipyard.monitoring.monitor_models import Alert, CheckOutcome

HOUR = 3_600_000


class Book:
    """The newest alert per check, as the store would answer."""

    def __init__(self) -> None:
        self.alerts: dict[str, Alert] = {}

    def step(self, status: str, now: int, cooldown: int = HOUR) -> tuple[list[Alert], list[Alert]]:
        outcome = CheckOutcome("drift", "feature_drift", status, 0.5, detail="x")
        changes = update_alerts("m", f"r{now}", (outcome,), self.alerts.get, now, cooldown)
        for alert in changes.written:
            self.alerts[alert.check] = alert
        return changes.fired, changes.resolved


def test_fire_dedupe_escalate_resolve() -> None:
    book = Book()
    fired, _ = book.step("warning", 0)
    assert [a.severity for a in fired] == ["warning"]
    first = fired[0]
    assert book.step("warning", HOUR) == ([], [])  # de-duplicated
    assert book.alerts["drift"].count == 2 and book.alerts["drift"].id == first.id
    fired, _ = book.step("critical", 2 * HOUR)  # escalation fires again
    assert [a.severity for a in fired] == ["critical"] and fired[0].id == first.id
    assert book.step("skipped", 3 * HOUR) == ([], [])
    _, resolved = book.step("ok", 4 * HOUR)
    assert resolved[0].state == "resolved" and resolved[0].resolved_at == 4 * HOUR
    fired, _ = book.step("warning", 10 * HOUR)  # long after: a new alert
    assert fired and fired[0].id != first.id


def test_cooldown_reopens_without_firing() -> None:
    book = Book()
    fired, _ = book.step("critical", 0)
    book.step("ok", 1000)
    fired, _ = book.step("critical", 2000, cooldown=HOUR)
    assert fired == []
    assert book.alerts["drift"].state == "firing" and book.alerts["drift"].count == 2
