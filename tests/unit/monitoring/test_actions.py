"""Actions: notify (delivered, and a failing webhook recorded, never raising), retrain, rollback."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.monitor_models import Alert, MonitorResult
from shipyard.monitoring.monitors import MonitorService
from shipyard.monitoring.store.sql import SqlMonitorStore
from shipyard.workspace import Workspace
from tests.conftest import free_port

from .monitor_support import HOUR, T0, Receiver, deploy, drifting, register


@pytest.fixture
def deployed(workspace: Workspace) -> Workspace:
    register(workspace, seed=1)
    register(workspace, seed=2)
    workspace.registry.promote("fraud", 1, "production")
    workspace.registry.promote("fraud", 2, "production")
    deploy(workspace)
    return workspace


def test_notify_posts_slack_json_and_rollback_and_retrain_act(deployed: Workspace, receiver: str) -> None:
    actions = [
        sy.actions.notify(webhook=receiver),
        sy.actions.rollback(model="fraud", alias="production", on="warning"),
        sy.actions.retrain(pipeline="train_mod:training", params={"epochs": 2}, on="warning"),
    ]
    drifting(deployed, actions, version=2)
    result = deployed.monitors.run("m", now=T0 + HOUR)
    outcomes = {a["action"]: a for a in result.actions}
    assert outcomes["notify"]["status"] == "ok", outcomes
    assert "feature_drift" in str(Receiver.bodies[0]["text"])
    assert outcomes["rollback"]["status"] == "ok"
    assert deployed.registry.aliases("fraud")["production"] == 1
    assert outcomes["retrain"]["status"] == "ok"
    [request] = deployed.scheduler.requests()
    assert request.ref == "train_mod:training" and request.params == {"epochs": 2}
    assert "monitor m" in request.reason
    again = deployed.monitors.run("m", now=T0 + HOUR)  # still firing: de-duplicated, no actions
    assert again.actions == ()


def test_failing_webhook_is_retried_then_recorded(deployed: Workspace, receiver: str) -> None:
    Receiver.status = 503
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    drifting(
        deployed,
        [
            sy.actions.notify(webhook=receiver, retries=2, backoff_s=0.0),
            sy.actions.notify(webhook=dead, retries=1, backoff_s=0.0),
        ],
        version=2,
    )
    result = deployed.monitors.run("m", now=T0 + HOUR)
    statuses = [(a["action"], a["status"]) for a in result.actions]
    assert statuses == [("notify", "failed"), ("notify", "failed")]
    assert len(Receiver.bodies) == 3  # 1 attempt + 2 retries
    assert "HTTP 503 after 3 attempt" in result.actions[0]["detail"]
    assert deployed.monitors.alerts(state="firing")  # the alert stands


def test_action_builders_refuse_bad_input() -> None:
    with pytest.raises(InvalidInputError):
        sy.actions.notify(webhook="ftp://x")
    with pytest.raises(InvalidInputError):
        sy.actions.retrain(pipeline="no-colon")
    with pytest.raises(InvalidInputError):
        sy.actions.canary(promote_after=0)
    with pytest.raises(InvalidInputError, match="on must be"):
        sy.actions.rollback(model="fraud", on="sometimes")


class RacedStore(SqlMonitorStore):
    """A real store where another evaluation of the monitor lands between this one's read of
    the alerts and its write (as a second scheduler, or `monitors run` on a server, would)."""

    rival: Callable[[], object] | None = None

    def add_result(self, result: MonitorResult, alerts: list[Alert], read: Sequence[Alert] = ()) -> None:
        rival, self.rival = self.rival, None
        if rival is not None:
            rival()
        super().add_result(result, alerts, read)


def test_racing_evaluations_fire_and_notify_once(deployed: Workspace, receiver: str) -> None:
    ws = deployed
    store = RacedStore(ws.settings.uri)
    service = MonitorService(
        lambda: store,
        monitoring=lambda: ws.monitoring,
        serving=lambda: ws.serving,
        registry=lambda: ws.registry,
        content=lambda: ws.content,
        audit=lambda: ws.audit,
    )
    drifting(ws, [sy.actions.notify(webhook=receiver, retries=0)], version=2)
    rival: list[MonitorResult] = []
    store.rival = lambda: rival.append(service.run("m", now=T0 + HOUR))
    mine = service.run("m", now=T0 + HOUR)
    [first] = rival
    assert [a["status"] for a in first.actions] == ["ok"] and len(first.alerts) == 1
    assert (mine.alerts, mine.actions) == ((), ())  # worked out again: de-duplicated, not fired
    assert len(Receiver.bodies) == 1
    [alert] = ws.monitors.alerts("m")
    assert (alert.state, alert.count, alert.id) == ("firing", 2, first.alerts[0])
    assert [e.action for e in ws.audit.list_events()].count("alert.fired") == 1
    assert {r.id for r in ws.monitors.results("m")} == {first.id, mine.id}
