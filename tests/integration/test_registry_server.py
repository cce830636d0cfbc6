"""The registry through a real server with ``--auth``: roles from tokens, gates that no role below
admin can skip, audited overrides, approvals, racing promotions, webhook deliveries.

One server process (SQLite) per module with a token per user: ``vic`` viewer, ``ed`` editor,
``amy`` and ``bob`` approvers, ``root`` admin. Each user talks to it through a remote
workspace (``SHIPYARD_URI`` + ``SHIPYARD_TOKEN``), as the SDK would; some checks use raw
HTTP to see the JSON bodies. Each test works on its own model name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shipyard.core.config import load_settings
from shipyard.core.errors import GateFailed, InvalidInputError, PermissionDenied
from shipyard.registry import gates
from shipyard.registry.webhooks import SIGNATURE_HEADER, verify_signature
from shipyard.workspace import Workspace
from tests.contract.registry_packages import add_datasets, log_package
from tests.contract.server_process import server_with_users

USERS = {"vic": "viewer", "ed": "editor", "amy": "approver", "bob": "approver", "root": "admin"}


@dataclass
class Server:
    url: str
    secrets: dict[str, str]
    folder: Path
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)  # "good"/"weak" -> runs:/ URI

    def workspace(self, user: str) -> Workspace:
        if user not in self.workspaces:
            settings = load_settings(
                home=str(self.folder / f"home-{user}"), uri=self.url, token=self.secrets[user]
            )
            self.workspaces[user] = Workspace(settings)
        return self.workspaces[user]

    def registry(self, user: str) -> Any:
        return self.workspace(user).registry

    def http(self, user: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.secrets[user]}"}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=60.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("registry-server")
    with server_with_users(folder, USERS) as (url, secrets):
        running = Server(url, secrets, folder)
        editor = running.workspace("ed")
        data = add_datasets(editor, folder / "data")
        running.packages = {kind: log_package(editor, data, kind) for kind in ("good", "weak")}
        try:
            yield running
        finally:
            for workspace in running.workspaces.values():
                workspace.close()


def register_both(server: Server, name: str, user: str = "ed") -> None:
    """Version 1 (good) and version 2 (weak) of ``name``, registered by ``user``."""
    server.registry(user).register(name, server.packages["good"])
    server.registry(user).register(name, server.packages["weak"])


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_reads_need_a_viewer_and_writes_an_editor(server: Server) -> None:
    with pytest.raises(PermissionDenied):
        server.registry("vic").register("roles", server.packages["good"])
    made = server.registry("ed").register("roles", server.packages["good"])
    assert (made.version, made.created_by, made.datasets) == (1, "ed", ["train@1"])
    assert server.registry("vic").get_version("roles", 1) == made
    with server.http("vic") as http:
        assert http.get("/models/roles/versions").json()[0]["uri"] == "models:/roles/1"
        error_of(http.post("/models/roles/aliases/staging", json={"version": 1}), 403, "permission_denied")
        error_of(http.patch("/models/roles", json={"description": "x"}), 403, "permission_denied")
    with server.http("ed") as http:
        error_of(http.get("/webhooks"), 403, "permission_denied")
        body = {"gates": [{"kind": "approvals", "params": {"count": 1}}]}
        error_of(http.put("/models/roles/aliases/production/policy", json=body), 403, "permission_denied")
        error_of(httpx.get(f"{server.url}/api/v1/models"), 401, "authentication_required")


def test_no_role_below_admin_can_skip_a_gate_and_an_admin_override_is_audited(server: Server) -> None:
    register_both(server, "gated")
    server.registry("root").set_policy(
        "gated", "production", [gates.metric("roc_auc", ">=", 0.8, dataset="holdout")]
    )
    server.registry("ed").evaluate("gated:2", "holdout", target="y")
    with pytest.raises(GateFailed) as caught:
        server.registry("ed").promote("gated", 2, "production")
    assert caught.value.details["report"]["results"][0]["observed"] == pytest.approx(0.5)

    with server.http("ed") as http:
        error = error_of(
            http.post("/models/gated/aliases/production", json={"version": 2}), 409, "gate_failed"
        )
        report = error["details"]["report"]
        assert report["passed"] is False and error["details"]["alias"] == "production"
        (result,) = report["results"]
        assert (result["kind"], result["passed"], result["required"]) == ("metric", False, ">= 0.8")
        assert result["observed"] == pytest.approx(0.5) and "roc_auc" in result["description"]
    for user in ("ed", "amy"):  # editor and approver: the override flag alone is refused
        with server.http(user) as http:
            body = {"version": 2, "reason": "trust me", "override": True}
            error_of(http.post("/models/gated/aliases/production", json=body), 403, "permission_denied")
        with pytest.raises(PermissionDenied):
            server.registry(user).promote("gated", 2, "production", reason="trust me", override=True)
    assert server.registry("vic").aliases("gated") == {}
    assert server.registry("vic").history("gated", "production") == []

    with pytest.raises(InvalidInputError, match="reason"):
        server.registry("root").promote("gated", 2, "production", override=True)
    with pytest.raises(GateFailed):  # an admin is held to the gates too, unless overriding
        server.registry("root").promote("gated", 2, "production")
    change = server.registry("root").promote("gated", 2, "production", reason="incident 7", override=True)
    assert (change.action, change.actor, change.reason, change.to_version) == (
        "override",
        "root",
        "incident 7",
        2,
    )
    assert change.report is not None and change.report["passed"] is False
    assert server.registry("vic").history("gated", "production") == [change]
    events = server.workspace("root").audit.list_events(limit=10_000)
    audited = [(e.actor, e.action) for e in events if e.target == "alias:gated@production"]
    assert ("ed", "alias.gate_failed") in audited and ("root", "alias.override") in audited
    assert ("ed", "alias.override") not in audited and ("amy", "alias.override") not in audited


def test_the_approvals_gate_counts_distinct_approvers_who_are_not_the_author(server: Server) -> None:
    server.registry("amy").register("approved", server.packages["good"])  # amy is the author
    server.registry("root").set_policy("approved", "production", [gates.approvals(2)])
    with pytest.raises(PermissionDenied, match="cannot approve"):
        server.registry("amy").approve("approved", 1, "production")
    with pytest.raises(PermissionDenied):
        server.registry("ed").approve("approved", 1, "production")  # an editor is no approver
    first = server.registry("bob").approve("approved", 1, "production", comment="looks fine")
    assert server.registry("bob").approve("approved", 1, "production") == first, "approving twice counts once"
    with pytest.raises(GateFailed) as caught:
        server.registry("ed").promote("approved", 1, "production")
    (result,) = caught.value.details["report"]["results"]
    assert result["passed"] is False and result["observed"] == ["bob"]
    with server.http("root") as http:
        made = http.post("/models/approved/versions/1/approvals", json={"alias": "production"})
        assert made.status_code == 201 and (made.json()["user"], made.json()["role"]) == ("root", "admin")
    change = server.registry("ed").promote("approved", 1, "production")
    assert change.action == "promote" and change.report is not None and change.report["passed"] is True
    approvals = server.registry("vic").list_approvals("approved", 1)
    assert [(a.user, a.role, a.comment) for a in approvals] == [
        ("bob", "approver", "looks fine"),
        ("root", "admin", None),
    ]


def test_racing_promotions_through_the_server_are_serialised(server: Server) -> None:
    register_both(server, "raced")
    server.registry("ed").describe("raced", fields={"intended_use": "races"})
    for alias in ("production", "canary", "shadow", "champion"):
        server.registry("root").set_policy("raced", alias, [gates.card_fields(["intended_use"])])
        done = _race(server, "raced", alias)
        assert len(done) == 2, "both promotions succeed"
        history = server.registry("vic").history("raced", alias)
        assert sorted(done, key=lambda c: c.seq) == history, "both are in the history, in the order they won"
        assert [c.from_version for c in history] == [None, history[0].to_version]
        assert history[0].at <= history[1].at and history[0].seq < history[1].seq
        assert server.registry("vic").aliases("raced")[alias] == history[1].to_version
        assert all(c.report is not None and c.report["passed"] for c in history), "the gates ran each time"


def _race(server: Server, name: str, alias: str) -> list[Any]:
    """Promote versions 1 and 2 of ``name`` to ``alias`` at once, from two clients; what each got back."""
    barrier, done = threading.Barrier(2), []

    def promote(version: int) -> None:
        settings = load_settings(home=str(server.folder / "race"), uri=server.url, token=server.secrets["ed"])
        workspace = Workspace(settings)
        try:
            barrier.wait()
            done.append(workspace.registry.promote(name, version, alias, reason=f"v{version}"))
        finally:
            workspace.close()

    threads = [threading.Thread(target=promote, args=(version,)) for version in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    httpd.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_server_delivers_signed_webhooks(server: Server, receiver: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    hook = server.registry("root").add_webhook(url, ["alias.changed"], secret="s3cret")
    assert hook.secret == "<hidden>" and server.registry("root").list_webhooks()[-1].id == hook.id
    try:
        server.registry("ed").register("hooked", server.packages["good"])
        server.registry("ed").promote("hooked", 1, "staging")
        deliveries = _wait_for_delivery(server, hook.id)
    finally:
        server.registry("root").remove_webhook(hook.id)
    assert [(d.event, d.status, d.attempts, d.response_code) for d in deliveries] == [
        ("alias.changed", "delivered", 1, 204)
    ]
    received = receiver.received  # type: ignore[attr-defined]
    ((headers, body),) = [(h, b) for h, b in received if orjson.loads(b)["payload"]["name"] == "hooked"]
    assert verify_signature("s3cret", body, headers[SIGNATURE_HEADER])
    sent = orjson.loads(body)
    assert sent["event"] == "alias.changed" and sent["delivery_id"] == deliveries[0].id
    assert (sent["payload"]["name"], sent["payload"]["alias"], sent["payload"]["actor"]) == (
        "hooked",
        "staging",
        "ed",
    )


def _wait_for_delivery(server: Server, webhook_id: str) -> list[Any]:
    """Deliveries of this test's events once one is recorded (the server sends them in the background)."""
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = server.registry("root").list_deliveries(webhook_id)
        mine = [d for d in found if d.payload.get("name") == "hooked"]  # not a stray event of another test
        if mine:
            return mine
        time.sleep(0.1)
    raise AssertionError("no delivery recorded within 60 s")


def test_cards_are_rendered_by_the_server(server: Server) -> None:
    server.registry("ed").register("carded", server.packages["good"])
    server.registry("ed").describe("carded", fields={"intended_use": "Scoring card payments"})
    with server.http("vic") as http:
        page = http.get("/models/carded/versions/1/card", params={"format": "html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Scoring card payments" in page.text and "carded" in page.text
        markdown = http.get("/models/carded/versions/1/card")
        assert markdown.text.startswith("# Model card: carded v1")
        error_of(http.get("/models/carded/versions/1/card", params={"format": "pdf"}), 400, "invalid_input")
