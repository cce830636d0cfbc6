"""Datasets and validation through a real server: ``SHIPYARD_URI=http://...``, SDK and CLI.

A server process with ``--auth`` on a SQLite file and a local artifact folder.
The SDK (in this process, its workspace built from the environment) adds a
folder, which uploads the blobs to the server and records the version there;
reads, loads, checkouts and validation results then go through the server. The
CLI runs as separate processes with only the URI, a token and an empty home.
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

import pytest

import shipyard as sy
from shipyard.core.config import load_settings
from shipyard.core.errors import PermissionDenied
from shipyard.sdk import validate
from shipyard.workspace import Workspace, set_workspace
from tests.contract.server_process import running_server

SUITE = """\
name: sales
checks:
  - {column: id, unique: true}
  - {column: amount, not_null: true}
  - {column: amount, between: {min: 0, max: 100}}
"""


@dataclass
class Remote:
    url: str
    editor: str
    viewer: str
    server_home: Path
    artifacts: Path


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    """A server with ``--auth`` and an editor and a viewer token, made before it starts."""
    settings = load_settings(
        home=str(tmp_path / "server-home"),
        uri=f"sqlite:///{tmp_path / 'meta.db'}",
        artifacts_uri=str(tmp_path / "artifacts"),
    )
    local = Workspace(settings)
    _, editor = local.auth.create_token("ann", "editor")
    _, viewer = local.auth.create_token("val", "viewer")
    local.close()
    with running_server(settings.uri, tmp_path / "artifacts", tmp_path / "server-home", auth=True) as url:
        yield Remote(url, editor, viewer, tmp_path / "server-home", tmp_path / "artifacts")


@pytest.fixture
def sdk(remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Remote]:
    """The SDK's process-wide workspace pointed at the server with the editor token."""
    for name in [k for k in os.environ if k.startswith("SHIPYARD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SHIPYARD_URI", remote.url)
    monkeypatch.setenv("SHIPYARD_TOKEN", remote.editor)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "sdk-home"))
    set_workspace(None)
    yield remote
    set_workspace(None)


def shipyard(remote: Remote, home: Path, *args: str, token: str, code: int = 0) -> str:
    """Run ``python -m shipyard.cli.main ARGS`` against the server; its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_URI=remote.url, SHIPYARD_HOME=str(home), SHIPYARD_TOKEN=token, COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "shipyard.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == code, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def shipyard_json(remote: Remote, home: Path, *args: str, token: str) -> Any:
    return json.loads(shipyard(remote, home, *args, "--json", token=token))


def make_folder(root: Path, amounts: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "sales.csv").write_text(f"id,amount\n{amounts}")
    (root / "notes").mkdir(exist_ok=True)
    (root / "notes" / "readme.txt").write_text("quarterly sales")
    return root


def test_sdk_adds_reads_loads_and_validates_through_the_server(sdk: Remote, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "data", "1,10.0\n2,20.0\n")
    first = sy.datasets.add(folder, "sales", "first")
    assert (first.ref, first.kind, len(first.files), first.row_count) == ("sales@1", "folder", 2, 2)
    assert first.created_by == "ann"  # the token's user, recorded by the server
    assert sy.datasets.add(folder, "sales").id == first.id  # unchanged content: the same version
    blobs = [p for p in (sdk.artifacts / "cas").rglob("*") if p.is_file()]
    assert len(blobs) == 2  # the content reached the server's artifact store

    make_folder(folder, "1,10.0\n1,\n3,500.0\n")
    second = sy.datasets.add(folder, "sales")
    assert second.version == 2 and sy.datasets.get("sales").id == second.id
    assert sy.datasets.get("sales@1") == first
    assert [d.name for d in sy.datasets.list()] == ["sales"]
    assert [v.version for v in sy.datasets.versions("sales")] == [1, 2]
    frame = sy.datasets.load("sales@1")
    assert list(frame["amount"]) == [10.0, 20.0]
    written = sy.datasets.checkout("sales@2", tmp_path / "out")
    assert len(written) == 2 and (tmp_path / "out" / "notes" / "readme.txt").read_text() == "quarterly sales"

    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    passed = validate(suite, "sales@1")  # sy.validate
    failed = validate(suite, "sales@2")
    assert passed.success and passed.id is not None and not failed.success
    server = Workspace(load_settings(home=str(sdk.server_home), uri=f"sqlite:///{tmp_path / 'meta.db'}"))
    try:  # stored on the server, and audited there as the token's user
        assert [r.id for r in server.validation.list_results("sales@1")] == [passed.id]
        events = server.audit.list_events(0, 1000)
        assert {("dataset.add", "ann"), ("validation.run", "ann")} <= {(e.action, e.actor) for e in events}
    finally:
        server.close()


def test_a_viewer_reads_but_cannot_add(remote: Remote, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "data", "1,10.0\n")
    settings = load_settings(home=str(tmp_path / "viewer-home"), uri=remote.url, token=remote.viewer)
    viewer = Workspace(settings)
    try:
        with pytest.raises(PermissionDenied):
            viewer.datasets.add(folder, "sales")
        assert viewer.datasets.list() == []
    finally:
        viewer.close()


def test_cli_data_and_validate_through_the_server(remote: Remote, tmp_path: Path) -> None:
    home = tmp_path / "cli-home"
    folder = make_folder(tmp_path / "data", "1,10.0\n2,20.0\n")
    shipyard(remote, home, "data", "add", str(folder), "--name", "sales", token=remote.editor)
    listed = shipyard_json(remote, home, "data", "list", token=remote.viewer)
    assert [(d["name"], d["version"]) for d in listed] == [("sales", 1)]
    assert "sales" in shipyard(remote, home, "data", "list", token=remote.viewer)

    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    out = shipyard(remote, home, "validate", str(suite), "sales@1", token=remote.editor)
    assert "all checks passed" in out
    make_folder(folder, "1,10.0\n1,\n")
    shipyard(remote, home, "data", "add", str(folder), "--name", "sales", token=remote.editor)
    shipyard(remote, home, "validate", str(suite), "sales", token=remote.editor, code=1)

    shown = shipyard_json(remote, home, "data", "show", "sales@1", token=remote.viewer)
    assert shown["version"] == 1 and [v["success"] for v in shown["validations"]] == [True]
    latest = shipyard_json(remote, home, "data", "show", "sales", token=remote.viewer)
    assert latest["version"] == 2 and [v["success"] for v in latest["validations"]] == [False]
    assert "sales@1" in shipyard(remote, home, "data", "show", "sales@1", token=remote.viewer)
