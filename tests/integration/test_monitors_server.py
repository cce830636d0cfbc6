"""Monitors through a real server with ``--auth``: ``sy.monitor`` and the CLI in remote mode,
specs checked and kept by the server, runs on the server (its prediction log, its
environment for ``env:NAME`` webhooks), roles from tokens, secrets redacted on the wire,
and bad input answered 4xx with a JSON body naming the problem.

One server process (SQLite) per module; ``ed`` is an editor and ``vic`` a viewer, each
talking to it through a remote workspace (``SHIPYARD_URI`` + ``SHIPYARD_TOKEN``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli.main import app
from shipyard.core.config import load_settings
from shipyard.core.errors import InvalidInputError, NotFoundError, PermissionDenied
from shipyard.monitoring.rest import RestMonitors
from shipyard.workspace import Workspace, set_workspace
from tests.contract.server_process import server_with_users
from tests.unit.monitoring.monitor_support import HOUR, T0, Receiver, make_frame, register, traffic

USERS = {"vic": "viewer", "ed": "editor"}
HOOK_ENV = "MONITORS_TEST_SERVER_HOOK"  # not SHIPYARD_*: the server process gets no such variable
MISSING_ENV = "MONITORS_TEST_SERVER_NO_HOOK"
SECRET_PARTS = ("T0SECRET", "XYZTOKEN", "HMACKEY")


@dataclass
class Server:
    url: str
    secrets: dict[str, str]
    folder: Path
    hook: str
    workspaces: dict[str, Workspace] = field(default_factory=dict)

    def workspace(self, user: str) -> Workspace:
        if user not in self.workspaces:
            self.workspaces[user] = Workspace(self.settings(user))
        return self.workspaces[user]

    def settings(self, user: str) -> Any:
        return load_settings(home=str(self.folder / f"home-{user}"), uri=self.url, token=self.secrets[user])

    def monitors(self, user: str = "ed") -> RestMonitors:
        monitors = self.workspace(user).monitors
        assert isinstance(monitors, RestMonitors)
        return monitors

    def call(self, user: str, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.secrets[user]}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **options)

    def cli(self, user: str, *args: str) -> str:
        env = {
            "SHIPYARD_URI": self.url,
            "SHIPYARD_TOKEN": self.secrets[user],
            "SHIPYARD_HOME": str(self.folder / f"cli-{user}"),
        }
        done = CliRunner().invoke(app, list(args), env=env)
        assert done.exit_code == 0, done.output
        return done.output


@contextmanager
def sdk_as(server: Server, user: str) -> Iterator[Workspace]:
    """``import shipyard as sy`` talking to the server as ``user``."""
    workspace = Workspace(server.settings(user))
    set_workspace(workspace)
    try:
        yield workspace
    finally:
        set_workspace(None)  # closes it


@pytest.fixture(scope="module")
def hook() -> Iterator[str]:
    Receiver.bodies, Receiver.paths, Receiver.status = [], [], 200
    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{receiver.server_port}/hook"
    receiver.shutdown()
    receiver.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hook: str) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("monitors-server")
    with pytest.MonkeyPatch.context() as env:  # the server's environment, read when alerts fire
        env.setenv(HOOK_ENV, f"{hook}/XYZTOKEN")
        env.delenv(MISSING_ENV, raising=False)
        with server_with_users(folder, USERS) as (url, secrets):
            running = Server(url, secrets, folder, hook)
            editor = running.workspace("ed")
            register(editor, seed=1)
            editor.registry.promote("fraud", 1, "production")
            editor.serving.deploy("fraud-svc", "fraud@production")
            traffic(editor, make_frame(400, 3, shift=200.0), T0)
            try:
                yield running
            finally:
                for workspace in running.workspaces.values():
                    workspace.close()


def _actions(hook: str) -> list[Any]:
    return [
        sy.actions.notify(webhook=f"env:{HOOK_ENV}", retries=0),
        sy.actions.notify(webhook=f"{hook}/T0SECRET/XYZTOKEN", secret="HMACKEY", retries=0),
        sy.actions.notify(webhook=f"env:{MISSING_ENV}", retries=0),
    ]


def test_sdk_monitors_are_kept_versioned_and_run_by_the_server(server: Server) -> None:
    reference = make_frame(800, 1)
    checks = [sy.checks.feature_drift(), sy.checks.latency(p99_ms=50)]
    with sdk_as(server, "ed"):
        first = sy.monitor(
            "drift", "fraud-svc", reference=reference, checks=checks, actions=_actions(server.hook)
        )
        again = sy.monitor(
            "drift", "fraud-svc", reference=reference, checks=checks, actions=_actions(server.hook)
        )
        assert (first.version, again.version, first.created_by) == (1, 1, "ed")
        assert first.reference is not None and first.reference.startswith("content:")  # uploaded once
        changed = sy.monitor(
            "drift",
            "fraud-svc",
            reference=reference,
            window="2h",
            checks=checks,
            actions=_actions(server.hook),
        )
        assert changed.version == 2 and changed.window.ms == 2 * HOUR
    result = server.monitors().run("drift", now=T0 + HOUR)
    assert result.status == "critical" and result.n_predictions == 400
    assert [c.name for c in result.checks] == ["feature_drift", "latency"]
    statuses = [(a["action"], a["status"]) for a in result.actions]
    assert statuses == [("notify", "ok"), ("notify", "ok"), ("notify", "failed")]
    assert MISSING_ENV in result.actions[2]["detail"]  # recorded, the monitor did not crash
    assert sorted(Receiver.paths) == ["/hook/T0SECRET/XYZTOKEN", "/hook/XYZTOKEN"]  # the real URLs
    viewer = server.monitors("vic")
    assert viewer.get("drift").version == 2 and viewer.get("drift", 1).window.ms == HOUR
    assert [m.name for m in viewer.list()] == ["drift"]
    assert [r.id for r in viewer.results("drift")] == [result.id]
    [alert] = viewer.alerts("drift", "firing")
    assert alert.check == "feature_drift" and alert.id in result.alerts
    again_result = server.monitors().run("drift", now=T0 + HOUR)  # still firing: de-duplicated
    assert (again_result.alerts, again_result.actions) == ((), ())
    assert viewer.alerts(state="firing")[0].count == 2


def test_a_viewer_reads_but_cannot_create_or_run(server: Server) -> None:
    with sdk_as(server, "ed"):
        sy.monitor("roles", "fraud-svc", checks=[sy.checks.latency()])
    viewer = server.monitors("vic")
    assert viewer.get("roles").checks[0].kind == "latency"
    with pytest.raises(PermissionDenied):
        viewer.create("roles", "fraud-svc", checks=[sy.checks.error_rate()])
    with pytest.raises(PermissionDenied):
        viewer.run("roles")
    with pytest.raises(NotFoundError):
        viewer.get("nobody")


def test_secrets_are_redacted_on_the_wire_and_kept_by_the_server(server: Server) -> None:
    checks = [sy.checks.latency(p99_ms=1)]  # critical: the actions fire
    with sdk_as(server, "ed"):
        made = sy.monitor("secret", "fraud-svc", checks=checks, actions=_actions(server.hook))
    assert made.actions[1].params["webhook"] == server.hook.rsplit("/", 1)[0] + "/***"
    assert made.actions[1].params["secret"] == "***"
    assert made.actions[0].params["webhook"] == f"env:{HOOK_ENV}"
    texts = [
        server.call("vic", "GET", "/api/v1/monitors/secret").text,
        server.call("vic", "GET", "/api/v1/monitors").text,
        server.call("ed", "POST", "/api/v1/monitors/secret/run", json={"now": T0 + HOUR}).text,
        server.call("vic", "GET", "/api/v1/monitors/secret/results").text,
        repr(server.monitors("vic").get("secret")),
        server.cli("vic", "monitors", "show", "secret", "--json"),
        server.cli("vic", "monitors", "show", "secret"),
        server.cli("vic", "monitors", "list", "--json"),
    ]
    for text in texts:
        assert "/***" in text, text
        assert not any(part in text for part in SECRET_PARTS), text
    with sdk_as(server, "ed"):  # the server compares with what it keeps: unchanged, no new version
        assert sy.monitor("secret", "fraud-svc", checks=checks, actions=_actions(server.hook)).version == 1
        with pytest.raises(InvalidInputError, match="redacted"):  # a spec as shown, sent back: refused
            sy.monitor("secret", "fraud-svc", checks=checks, actions=list(made.actions))


def _problem(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    for word in words:
        assert word in error["message"], error


def test_bad_input_is_4xx_json_naming_the_problem(server: Server) -> None:
    good = {"deployment": "fraud-svc", "checks": [sy.checks.latency().to_dict()]}

    def put(name: str, **changes: Any) -> httpx.Response:
        return server.call("ed", "PUT", f"/api/v1/monitors/{name}", json={**good, **changes})

    _problem(put("m", checks=[{"kind": "vibes", "params": {}}]), 400, "unknown check 'vibes'")
    tampered = sy.checks.latency(p99_ms=50).to_dict()
    tampered["params"]["warning"] = 500
    _problem(put("m", checks=[tampered]), 400, "check latency", "warning")
    bounds = sy.checks.performance("roc_auc", min=0.8).to_dict()
    bounds["params"]["higher_is_better"] = False
    _problem(put("m", checks=[bounds]), 400, "roc_auc is better when higher")
    notify = sy.actions.notify(webhook="env:X").to_dict()
    notify["params"]["webhook"] = "ftp://files/XYZTOKEN"
    response = put("m", actions=[notify])
    _problem(response, 400, "webhook must be an http(s) URL")
    assert "XYZTOKEN" not in response.text
    _problem(put("m", window="soon"), 400, "window")
    _problem(put("m", cooldown_ms=-1), 400, "cooldown_ms")
    _problem(put("m", colour="red"), 400, "colour")
    _problem(put("m", deployment="nowhere"), 404, "nowhere")
    _problem(put("bad name!"), 400, "monitor name")
    _problem(put("m", reference="content:blake3:" + "0" * 64), 400, "no such content")
    _problem(put("m", checks=[sy.checks.feature_drift().to_dict()]), 400, "need a reference")
    _problem(server.call("ed", "POST", "/api/v1/monitors/nobody/run", json={}), 404, "nobody")
    _problem(server.call("vic", "GET", "/api/v1/alerts", params={"state": "bogus"}), 400, "bogus")
    _problem(
        server.call("vic", "GET", "/api/v1/alerts/prometheus-rules", params={"for": "later"}), 400, "for"
    )
    _problem(server.call("vic", "GET", "/api/v1/monitors/m", params={"version": 0}), 400, "version")
    _problem(server.call("vic", "PUT", "/api/v1/monitors/m", json=good), 403, "editor")


def test_the_cli_works_against_the_server(server: Server, tmp_path: Path) -> None:
    make_frame(800, 1).to_parquet(tmp_path / "ref.parquet")
    reference = server.workspace("ed").datasets.add(tmp_path / "ref.parquet", "transactions").ref
    spec = {
        "name": "cli",
        "deployment": "fraud-svc",
        "reference": reference,
        "window": 1000,
        "checks": [{"kind": "feature_drift"}, {"kind": "latency", "p99_ms": 50}],
        "actions": [{"kind": "notify", "webhook": f"{server.hook}/T0SECRET"}],
    }
    (tmp_path / "cli.yaml").write_text(yaml.safe_dump(spec))
    created = orjson.loads(server.cli("ed", "monitors", "create", str(tmp_path / "cli.yaml"), "--json"))
    assert (created["name"], created["version"], created["reference"]) == ("cli", 1, reference)
    assert "cli" in server.cli("vic", "monitors", "list")
    ran = orjson.loads(server.cli("ed", "monitors", "run", "cli", "--json"))
    assert (ran["monitor"], ran["n_predictions"], ran["status"]) == ("cli", 400, "critical")  # drifted
    shown = orjson.loads(server.cli("vic", "monitors", "show", "cli", "--json"))
    assert shown["latest"]["id"] == ran["id"]
    firing = orjson.loads(
        server.cli("vic", "alerts", "list", "--monitor", "cli", "--state", "firing", "--json")
    )
    assert [a["check"] for a in firing] == ["feature_drift"]
    rules = yaml.safe_load(server.cli("vic", "monitors", "export-prometheus-rules", "--for", "10m"))
    names = [r["alert"] for group in rules["groups"] for r in group["rules"]]
    assert any("cli" in n.lower() for n in names)
    report = tmp_path / "report.html"
    server.cli("vic", "monitors", "report", "cli", "--html", str(report))
    assert "<html" in report.read_text().lower() and "amount" in report.read_text()
    denied = CliRunner().invoke(
        app,
        ["monitors", "run", "cli"],
        env={
            "SHIPYARD_URI": server.url,
            "SHIPYARD_TOKEN": server.secrets["vic"],
            "SHIPYARD_HOME": str(server.folder / "cli-vic"),
        },
    )
    assert denied.exit_code != 0
