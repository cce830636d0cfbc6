"""The ``shipyard`` console against a real server: ``SHIPYARD_URI=http://...`` and ``SHIPYARD_TOKEN``.

A server process with ``--auth`` on a SQLite file; the CLI runs as separate
processes with only those variables (and an empty home) to go on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.core.config import load_settings
from shipyard.workspace import Workspace
from tests.contract.server_process import running_server


@dataclass
class Remote:
    url: str
    admin_secret: str
    home: Path


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    """A server with ``--auth`` and one admin token, made locally before it starts."""
    settings = load_settings(
        home=str(tmp_path / "server-home"),
        uri=f"sqlite:///{tmp_path / 'meta.db'}",
        artifacts_uri=str(tmp_path / "artifacts"),
    )
    local = Workspace(settings)
    _, secret = local.auth.create_token("root", "admin")
    local.close()
    with running_server(settings.uri, tmp_path / "artifacts", tmp_path / "server-home", auth=True) as url:
        yield Remote(url, secret, tmp_path / "client-home")


def shipyard(remote: Remote, *args: str, token: str | None = None, code: int = 0) -> str:
    """Run ``python -m shipyard.cli.main ARGS`` against the server; its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_URI=remote.url, SHIPYARD_HOME=str(remote.home), COLUMNS="200")
    env["SHIPYARD_TOKEN"] = token or remote.admin_secret
    done = subprocess.run(
        [sys.executable, "-m", "shipyard.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == code, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout if code == 0 else done.stderr


def shipyard_json(remote: Remote, *args: str, token: str | None = None) -> Any:
    return json.loads(shipyard(remote, *args, "--json", token=token))


def log_run(remote: Remote, secret: str, artifact: Path) -> str:
    """A run made by the SDK's remote workspace with ``secret``; returns its id."""
    workspace = Workspace(load_settings(home=str(remote.home), uri=remote.url, token=secret))
    try:
        tracking = workspace.tracking
        run = tracking.create_run("remote-exp", "first", lineage={"git": {"commit": "abc"}})
        tracking.log_params(run.id, {"lr": "0.1"})
        tracking.log_metrics(run.id, [("auc", 0.9, 0, 1)])
        tracking.log_artifact(run.id, artifact, "model/weights.bin")
        tracking.end_run(run.id)
    finally:
        workspace.close()
    return run.id


def test_tokens_runs_experiments_and_audit_through_a_server(remote: Remote, tmp_path: Path) -> None:
    token = shipyard_json(remote, "tokens", "create", "--name", "bob", "--role", "editor")
    secret = token["secret"]
    assert secret.startswith("shp_") and token["role"] == "editor" and token["name"] == "bob"
    listed = shipyard_json(remote, "tokens", "list")
    assert {t["name"] for t in listed} == {"root", "bob"} and secret not in json.dumps(listed)
    assert "bob" in shipyard(remote, "tokens", "list")

    artifact = tmp_path / "weights.bin"
    artifact.write_bytes(b"weights")
    run_id = log_run(remote, secret, artifact)

    assert [e["name"] for e in shipyard_json(remote, "experiments", "list", token=secret)] == ["remote-exp"]
    runs = shipyard_json(remote, "runs", "list", token=secret)
    assert [r["id"] for r in runs] == [run_id] and runs[0]["experiment"] == "remote-exp"
    shown = shipyard_json(remote, "runs", "show", run_id[-8:], token=secret)
    assert shown["id"] == run_id and shown["params"] == {"lr": "0.1"} and shown["status"] == "finished"
    assert "model/weights.bin" in shipyard(remote, "runs", "show", run_id, token=secret)

    report = shipyard_json(remote, "audit", "verify")
    assert report["ok"] is True and report["first_broken_seq"] is None
    events = shipyard_json(remote, "audit", "list", "--limit", "1000")
    created = [e for e in events if e["target"] == f"token:{token['id']}"]
    assert [(e["action"], e["actor"]) for e in created] == [("token.create", "root")]  # recorded once
    assert ("run.create", "bob") in {(e["action"], e["actor"]) for e in events}

    shipyard(remote, "tokens", "list", token=secret, code=5)  # an editor cannot manage tokens
    revoked = shipyard_json(remote, "tokens", "revoke", token["id"])
    assert revoked["revoked"] is True
    assert [t["name"] for t in shipyard_json(remote, "tokens", "list")] == ["root"]
    assert any(t["revoked"] for t in shipyard_json(remote, "tokens", "list", "--all"))
    refused = httpx.get(f"{remote.url}/api/v1/experiments", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "authentication_required"


def test_remote_token_errors(remote: Remote) -> None:
    assert "viewer" in shipyard(remote, "tokens", "create", "--name", "carol", "--role", "viewer")
    message = shipyard(remote, "tokens", "create", "--name", "carol", "--role", "admin", code=4)
    assert message.startswith("error: ") and "carol" in message
    shipyard(remote, "tokens", "revoke", "0" * 32, code=3)
    shipyard(remote, "tokens", "list", token="shp_wrong", code=5)
