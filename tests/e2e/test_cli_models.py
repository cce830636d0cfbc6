"""``shipyard models`` and ``shipyard webhooks`` end to end: embedded (in process) and against a
real server with ``--auth`` (separate processes with ``SHIPYARD_URI`` and ``SHIPYARD_TOKEN``).

Packages are logged and evaluated with the SDK's workspace first (the CLI has no training
command); every ``--json`` output is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app
from shipyard.cli.output import GATE_FAILED, INVALID_INPUT, PERMISSION
from shipyard.core.config import load_settings
from shipyard.workspace import Workspace
from tests.contract.registry_packages import add_datasets, log_package
from tests.contract.server_process import running_server

from .test_cli_remote import Remote, shipyard, shipyard_json

POLICY = """\
# production needs a good model on the holdout
- {metric: roc_auc, op: ">=", value: 0.8, dataset: holdout}
"""
runner = CliRunner()


def cli(*args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def cli_json(*args: str, code: int = 0) -> Any:
    return json.loads(cli(*args, "--json", code=code).stdout)


@pytest.fixture
def packages(home: Path, tmp_path: Path) -> dict[str, str]:
    """``good`` and ``weak`` packages logged in the embedded home, datasets train@1 and holdout@1."""
    workspace = Workspace(load_settings())
    try:
        data = add_datasets(workspace, tmp_path / "data")
        return {kind: log_package(workspace, data, kind) for kind in ("good", "weak")}
    finally:
        workspace.close()


def evaluate(version: str, settings: dict[str, str] | None = None) -> None:
    workspace = Workspace(load_settings(**(settings or {})))
    try:
        workspace.registry.evaluate(version, "holdout", target="y")
    finally:
        workspace.close()


def test_models_workflow_embedded(packages: dict[str, str], tmp_path: Path) -> None:
    first = cli_json("models", "register", "fraud", packages["good"], "--description", "baseline")
    assert (first["uri"], first["version"], first["datasets"]) == ("models:/fraud/1", 1, ["train@1"])
    assert first["created_at"].endswith("Z") and isinstance(first["created_at_ms"], int)
    assert "registered models:/fraud/2" in cli("models", "register", "fraud", packages["weak"]).stdout
    listed = cli_json("models", "list")
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in listed] == [("fraud", 2, {})]
    shown = cli_json("models", "show", "fraud")
    assert [v["version"] for v in shown["versions"]] == [1, 2] and shown["description"] is None
    assert "baseline" in cli("models", "show", "fraud").stdout

    evaluate("fraud:1")
    evaluate("fraud:2")
    one = cli_json("models", "show", "fraud:1")
    assert one["uri"] == "models:/fraud/1" and one["evaluations"][0]["dataset_ref"] == "holdout@1"
    assert one["evaluations"][0]["metrics"]["roc_auc"] > 0.9 and one["approvals"] == []

    policy = tmp_path / "gates.yaml"
    policy.write_text(POLICY)
    set_doc = cli_json("models", "policy", "fraud", "--alias", "production", "--set", str(policy))
    assert set_doc["gates"] == [
        {
            "kind": "metric",
            "params": {"metric": "roc_auc", "op": ">=", "threshold": 0.8, "dataset": "holdout"},
        }
    ]
    assert "roc_auc >= 0.8 on holdout" in cli("models", "policy", "fraud", "--alias", "production").stdout
    policy.write_text("- {metric: roc_auc, op: '>=', value: 0.8}\n- {approvals: many}\n")
    bad = cli("models", "policy", "fraud", "--alias", "production", "--set", str(policy), code=INVALID_INPUT)
    assert f"{policy} line 2" in bad.stderr

    refused = cli("models", "promote", "fraud", "2", "--alias", "production", code=GATE_FAILED)
    assert "roc_auc >= 0.8 on holdout" in refused.stdout and "NO" in refused.stdout
    assert "1 of 1 gate(s) failed" in refused.stderr
    doc = cli_json("models", "promote", "fraud", "2", "--alias", "production", code=GATE_FAILED)
    assert doc["error"]["code"] == "gate_failed" and doc["report"]["results"][0]["observed"] == 0.5
    moved = cli_json("models", "promote", "fraud", "1", "--alias", "production", "--reason", "good")
    assert (moved["to_version"], moved["action"], moved["report"]["passed"]) == (1, "promote", True)
    overridden = cli_json(
        "models", "promote", "fraud", "2", "--alias", "production", "--override", "--reason", "demo"
    )
    assert overridden["action"] == "override"  # embedded, the local user is an admin
    back = cli_json("models", "rollback", "fraud", "--alias", "production")
    assert (back["from_version"], back["to_version"], back["action"]) == (2, 1, "rollback")
    history = cli_json("models", "history", "fraud", "--alias", "production")
    assert [c["action"] for c in history] == ["promote", "override", "rollback"]
    assert history[0]["at"].endswith("Z") and isinstance(history[0]["at_ms"], int)
    assert "override" in cli("models", "history", "fraud").stdout

    approve = cli("models", "approve", "fraud", "1", "--alias", "production", code=PERMISSION)
    assert "cannot approve" in approve.stderr


def test_describe_and_card_embedded(packages: dict[str, str], tmp_path: Path) -> None:
    cli("models", "register", "fraud", packages["good"])
    model = cli_json(
        "models", "describe", "fraud", "--field", "intended_use=Score payments", "-f", "limitations=EU"
    )
    assert model["fields"] == {"intended_use": "Score payments", "limitations": "EU"}
    version = cli_json("models", "describe", "fraud", "--version", "1", "--description", "first")
    assert version["description"] == "first"
    cli("models", "describe", "fraud", "--version", "1", "--field", "limitations=")
    kept = cli_json("models", "show", "fraud@1")
    assert kept["description"] == "first", "describing fields keeps the version's description"
    assert cli_json("models", "show", "fraud")["fields"] == {"intended_use": "Score payments"}
    cli("models", "describe", "fraud", "--field", "oops", code=INVALID_INPUT)

    evaluate("fraud:1")
    markdown = cli("models", "card", "fraud@1").stdout
    assert markdown.startswith("# Model card: fraud v1") and "Score payments" in markdown
    page = tmp_path / "card.html"
    assert "wrote" in cli("models", "card", "fraud:1", "--html", "-o", str(page)).stdout
    html = page.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "data:image/png;base64," in html
    card = cli_json("models", "card", "fraud@1")
    assert card["name"] == "fraud" and card["fields"]["intended_use"] == "Score payments"
    cli("models", "card", "fraud@9", code=3)


def test_export_onnx_and_webhooks_embedded(packages: dict[str, str]) -> None:
    cli("models", "register", "fraud", packages["good"])
    exported = cli_json("models", "export-onnx", "fraud@1", "--register")
    assert exported["model_uri"].endswith("/model-onnx") and exported["registered"]["version"] == 2
    assert cli_json("models", "show", "fraud:2")["flavor"] == "onnx"

    hook = cli_json(
        "webhooks", "add", "http://127.0.0.1:9/hook", "--events", "alias.changed,gate.failed", "--secret", "s"
    )
    assert hook["events"] == ["alias.changed", "gate.failed"] and hook["has_secret"] is True
    assert "secret" not in hook
    assert [w["id"] for w in cli_json("webhooks", "list")] == [hook["id"]]
    assert cli_json("webhooks", "deliveries") == []
    cli("webhooks", "add", "http://x", "--events", "nothing", code=INVALID_INPUT)
    assert cli_json("webhooks", "remove", hook["id"]) == {"id": hook["id"], "removed": True}
    cli("webhooks", "remove", hook["id"], code=3)


# -- remote ------------------------------------------------------------------------------------
@dataclass
class Server(Remote):
    editor: str = ""  # the secret of ed's editor token


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Server]:
    """A server with ``--auth``; tokens for ``root`` (admin) and ``ed`` (editor) made before it starts."""
    settings = load_settings(
        home=str(tmp_path / "server-home"),
        uri=f"sqlite:///{tmp_path / 'meta.db'}",
        artifacts_uri=str(tmp_path / "artifacts"),
    )
    local = Workspace(settings)
    _, secret = local.auth.create_token("root", "admin")
    _, editor = local.auth.create_token("ed", "editor")
    local.close()
    with running_server(settings.uri, tmp_path / "artifacts", tmp_path / "server-home", auth=True) as url:
        yield Server(url, secret, tmp_path / "client-home", editor)


def test_models_workflow_remote(remote: Server, tmp_path: Path) -> None:
    editor = remote.editor
    client = {"home": str(tmp_path / "sdk-home"), "uri": remote.url, "token": editor}
    workspace = Workspace(load_settings(**client))
    try:
        data = add_datasets(workspace, tmp_path / "data")
        packages = {kind: log_package(workspace, data, kind) for kind in ("good", "weak")}
    finally:
        workspace.close()
    assert (
        shipyard_json(remote, "models", "register", "fraud", packages["good"], token=editor)["created_by"]
        == "ed"
    )
    shipyard(remote, "models", "register", "fraud", packages["weak"], token=editor)
    evaluate("fraud:2", client)

    policy = tmp_path / "gates.yaml"
    policy.write_text(POLICY)
    refused = shipyard(remote, "models", "policy", "fraud", "--alias", "production", "--set", str(policy),
                       token=editor, code=PERMISSION)  # fmt: skip
    assert "admin" in refused
    gates = shipyard_json(remote, "models", "policy", "fraud", "--alias", "production", "--set", str(policy))
    assert gates["updated_by"] == "root"

    failed = shipyard(remote, "models", "promote", "fraud", "2", "-a", "production", "--json",
                      token=editor, code=GATE_FAILED)  # fmt: skip
    assert "1 of 1 gate(s) failed" in failed
    override = ("models", "promote", "fraud", "2", "-a", "production", "--override", "--reason", "demo")
    assert "admin" in shipyard(remote, *override, token=editor, code=PERMISSION)
    assert shipyard_json(remote, "models", "history", "fraud", "-a", "production") == []
    change = shipyard_json(remote, *override)
    assert (change["action"], change["actor"], change["report"]["passed"]) == ("override", "root", False)
    history = shipyard_json(remote, "models", "history", "fraud", "-a", "production", token=editor)
    assert [(c["action"], c["actor"], c["reason"]) for c in history] == [("override", "root", "demo")]
    events = shipyard_json(remote, "audit", "list", "--limit", "1000")
    assert ("root", "alias.override") in {(e["actor"], e["action"]) for e in events}

    page = tmp_path / "card.html"
    shipyard(remote, "models", "card", "fraud@production", "--html", "-o", str(page), token=editor)
    assert "fraud" in page.read_text() and "demo" in page.read_text()
    hook = shipyard_json(remote, "webhooks", "add", "http://127.0.0.1:9/x", "--events", "gate.failed")
    assert [w["id"] for w in shipyard_json(remote, "webhooks", "list")] == [hook["id"]]
    shipyard(remote, "webhooks", "list", token=editor, code=PERMISSION)
    shipyard(remote, "webhooks", "remove", hook["id"])
