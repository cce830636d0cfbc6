"""The ``shipyard`` command line, in process with Typer's CliRunner and once as a real process."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app
from shipyard.cli.output import exit_code
from shipyard.core import errors
from shipyard.core.config import load_settings
from shipyard.workspace import Workspace

runner = CliRunner()


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def cli_json(*args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def ws(home: Path) -> Iterator[Workspace]:
    workspace = Workspace()
    yield workspace
    workspace.close()


def make_run(ws: Workspace, experiment: str = "exp", end: bool = True, **params: Any) -> str:
    tracking = ws.tracking
    run = tracking.create_run(
        experiment,
        lineage={"git": {"commit": "abc123", "dirty": True}, "python": "3.11", "packages": {"numpy": "2.0"}},
    )
    tracking.log_params(run.id, params)
    now = int(time.time() * 1000)
    auc = float(params.get("lr", 0.5))
    tracking.log_metrics(run.id, [("auc", auc, 0, now), ("loss", 1 - auc, 0, now)])
    if end:
        tracking.end_run(run.id)
    return run.id


def db_path(home: Path) -> Path:
    return home / "shipyard.db"


# -- root -------------------------------------------------------------------------------
def test_version_and_help() -> None:
    assert cli("--version").stdout.startswith("shipyard ")
    result = cli("--help")
    assert result.exit_code == 0
    for group in ("experiments", "runs", "tokens", "audit", "db", "server"):
        assert group in result.stdout


def test_help_imports_neither_pandas_nor_sqlalchemy_and_touches_no_disk(tmp_path: Path) -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from shipyard.cli.main import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "print([m for m in ('pandas', 'sqlalchemy', 'pyarrow', 'fastapi') if m in sys.modules])"
    )
    env = {**os.environ, "SHIPYARD_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
    assert not (tmp_path / "home").exists()


def test_exit_codes_per_error_family() -> None:
    assert exit_code(errors.ShipyardError("x")) == 1
    assert exit_code(errors.InvalidInputError("x")) == 2
    assert exit_code(errors.NotFoundError("x")) == 3
    assert exit_code(errors.AlreadyExistsError("x")) == exit_code(errors.ConflictError("x")) == 4
    assert exit_code(errors.AuthenticationRequired("x")) == exit_code(errors.PermissionDenied("x")) == 5
    assert exit_code(errors.BackendUnavailable("x")) == 6


def test_home_option_overrides_the_environment(home: Path, tmp_path: Path) -> None:
    other = Workspace(load_settings(home=str(tmp_path / "other-home")))
    try:
        run_id = make_run(other, lr=0.1)
    finally:
        other.close()
    assert cli_json("runs", "list") == []
    assert [d["id"] for d in cli_json("--home", str(tmp_path / "other-home"), "runs", "list")] == [run_id]


# -- experiments ------------------------------------------------------------------------
def test_experiments_list(ws: Workspace) -> None:
    make_run(ws, "alpha", lr=0.1)
    make_run(ws, "beta", lr=0.2)
    result = cli("experiments", "list")
    assert result.exit_code == 0 and "alpha" in result.stdout and "beta" in result.stdout
    docs = cli_json("experiments", "list")
    assert [d["name"] for d in docs] == ["alpha", "beta"]
    assert set(docs[0]) == {"id", "name", "tags", "created_at", "created_at_ms"}
    assert docs[0]["created_at"].endswith("Z")


# -- runs -------------------------------------------------------------------------------
def test_runs_list_table_and_json(ws: Workspace) -> None:
    first = make_run(ws, lr=0.1, model="rf")
    second = make_run(ws, lr=0.3, model="gbm")
    result = cli("runs", "list")
    assert result.exit_code == 0
    assert first[-8:] in result.stdout and second[-8:] in result.stdout and "finished" in result.stdout
    docs = cli_json("runs", "list")
    assert [d["id"] for d in docs] == [second, first], "newest first"
    expected = {
        "id",
        "short_id",
        "name",
        "experiment",
        "experiment_id",
        "status",
        "error",
        "params",
        "tags",
        "metrics",
        "lineage",
        "duration_ms",
        "start_time",
        "start_time_ms",
        "end_time",
        "end_time_ms",
        "heartbeat_at",
        "heartbeat_at_ms",
    }
    assert set(docs[0]) == expected
    assert docs[0]["experiment"] == "exp" and docs[0]["params"]["model"] == "gbm"
    assert docs[0]["metrics"]["auc"] == pytest.approx(0.3)


def test_runs_list_filter_order_columns_and_experiment(ws: Workspace) -> None:
    make_run(ws, "a", lr=0.1, model="rf")
    best = make_run(ws, "a", lr=0.9, model="gbm")
    other = make_run(ws, "b", lr=0.5)
    docs = cli_json("runs", "list", "--filter", "metrics.auc > 0.4", "--order-by", "metrics.auc desc")
    assert [d["id"] for d in docs] == [best, other]
    assert [d["id"] for d in cli_json("runs", "list", "-e", "b")] == [other]
    assert len(cli_json("runs", "list", "-e", "a", "-e", "b", "--max-results", "2")) == 2
    result = cli("runs", "list", "--columns", "params.model,metrics.auc")
    assert result.exit_code == 0 and "gbm" in result.stdout and "0.9" in result.stdout


def test_runs_list_bad_filter_and_bad_columns_exit_2(ws: Workspace) -> None:
    make_run(ws, lr=0.1)
    result = cli("runs", "list", "--filter", "metrics.auc >> 1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "filter" in result.stderr
    assert "Traceback" not in result.output
    result = cli("runs", "list", "--columns", "auc")
    assert result.exit_code == 2 and "--columns" in result.stderr
    result = cli("runs", "list", "--max-results", "0")
    assert result.exit_code == 2 and "--max-results" in result.output


def test_runs_show_by_id_suffix_and_prefix(ws: Workspace) -> None:
    run_id = make_run(ws, lr=0.25, model="rf")
    result = cli("runs", "show", run_id[-8:])
    assert result.exit_code == 0, result.stderr
    for text in (run_id, "finished", "abc123", "dirty=True", "1 item, sha256:", "model", "auc"):
        assert text in result.stdout
    doc = cli_json("runs", "show", run_id)
    assert doc["id"] == run_id and doc["status"] == "finished" and doc["stale"] is False
    assert doc["params"] == {"lr": "0.25", "model": "rf"} and doc["artifacts"] == []
    assert doc["lineage"]["git"] == {"commit": "abc123", "dirty": True}
    assert cli_json("runs", "show", run_id[:16])["id"] == run_id


def test_runs_show_artifacts(ws: Workspace, tmp_path: Path) -> None:
    run_id = make_run(ws, end=False, lr=0.1)
    (tmp_path / "model.txt").write_text("weights")
    ws.tracking.log_artifact(run_id, tmp_path / "model.txt")
    doc = cli_json("runs", "show", run_id)
    assert [a["path"] for a in doc["artifacts"]] == ["model.txt"] and doc["artifacts"][0]["size"] == 7
    result = cli("runs", "show", run_id)
    assert "model.txt" in result.stdout and "7 B" in result.stdout and "heartbeat" in result.stdout


def test_runs_show_unknown_and_ambiguous(ws: Workspace) -> None:
    first, second = make_run(ws, lr=0.1), make_run(ws, lr=0.2)
    result = cli("runs", "show", "0123456789abcdef0123456789abcdef")
    assert result.exit_code == 3 and result.stderr.startswith("error: run")
    assert cli("runs", "show", "zzzz").exit_code == 3
    common = first[: next(i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b)]
    if len(common) >= 4:
        result = cli("runs", "show", common)
        assert result.exit_code == 2 and "ambiguous" in result.stderr


def test_runs_compare(ws: Workspace) -> None:
    first = make_run(ws, lr=0.1, model="rf")
    second = make_run(ws, lr=0.2, model="rf")
    result = cli("runs", "compare", first, second)
    assert result.exit_code == 0 and "model" in result.stdout and "auc" in result.stdout
    doc = cli_json("runs", "compare", first, second)
    assert [r["id"] for r in doc["runs"]] == [first, second]
    params = {row["key"]: row for row in doc["params"]}
    assert params["lr"] == {"key": "lr", "values": ["0.1", "0.2"], "differs": True}
    assert params["model"]["differs"] is False
    assert {row["key"] for row in doc["metrics"]} == {"auc", "loss"}
    assert cli("runs", "compare", first).exit_code == 2


def test_runs_gc_marks_stale_runs_killed(ws: Workspace, home: Path) -> None:
    stale = make_run(ws, end=False, lr=0.1)
    fresh = make_run(ws, end=False, lr=0.2)
    done = make_run(ws, lr=0.3)
    with sqlite3.connect(db_path(home)) as conn:
        conn.execute("UPDATE runs SET start_time = 1000, heartbeat_at = 1000 WHERE id = ?", (stale,))
    assert cli("runs", "gc").exit_code == 2, "gc without a mode does nothing"
    doc = cli_json("runs", "gc", "--stale", "--dry-run")
    assert doc["dry_run"] is True and [r["id"] for r in doc["runs"]] == [stale]
    assert ws.tracking.get_run(stale).status.value == "running"
    result = cli("runs", "gc", "--stale")
    assert result.exit_code == 0 and stale[-8:] in result.stdout
    assert ws.tracking.get_run(stale).status.value == "killed"
    assert ws.tracking.get_run(fresh).status.value == "running"
    killed = cli_json("runs", "gc", "--stale", "--older-than", "0")["runs"]
    assert [r["id"] for r in killed] == [fresh] and killed[0]["status"] == "killed"
    assert ws.tracking.get_run(done).status.value == "finished"


# -- tokens -----------------------------------------------------------------------------
def test_tokens_create_list_revoke(home: Path) -> None:
    result = cli("tokens", "create", "--name", "alice", "--role", "editor")
    assert result.exit_code == 0 and "shp_" in result.stdout and "cannot be shown again" in result.stderr
    doc = cli_json("tokens", "create", "--name", "alice", "--role", "VIEWER")
    assert doc["secret"].startswith("shp_") and doc["role"] == "viewer" and doc["revoked"] is False
    listed = cli_json("tokens", "list")
    assert len(listed) == 2 and all("secret" not in t for t in listed)
    assert doc["secret"] not in cli("tokens", "list").stdout
    result = cli("tokens", "revoke", doc["id"])
    assert result.exit_code == 0 and doc["id"] in result.stdout
    assert [t["id"] for t in cli_json("tokens", "list")] == [listed[0]["id"]]
    assert any(t["revoked"] for t in cli_json("tokens", "list", "--all"))


def test_tokens_errors(home: Path) -> None:
    result = cli("tokens", "create", "--name", "bob", "--role", "boss")
    assert result.exit_code == 2 and "--role" in result.output and "viewer" in result.output
    assert cli("tokens", "create", "--name", "bob", "--role", "viewer").exit_code == 0
    result = cli("tokens", "create", "--name", "bob", "--role", "admin")
    assert result.exit_code == 4 and result.stderr.startswith("error: ")
    assert cli("tokens", "revoke", "no-such-token").exit_code == 3


# -- audit ------------------------------------------------------------------------------
def test_audit_verify_and_list_then_tampering(ws: Workspace, home: Path) -> None:
    make_run(ws, lr=0.1)
    result = cli("audit", "verify")
    assert result.exit_code == 0 and "intact" in result.stdout
    report = cli_json("audit", "verify")
    assert report["ok"] is True and report["checked"] >= 4 and report["first_broken_seq"] is None
    events = cli_json("audit", "list", "--limit", "2")
    assert [e["seq"] for e in events] == [1, 2] and events[0]["action"] == "experiment.create"
    assert set(events[0]) >= {"seq", "time", "time_ms", "actor", "action", "target", "hash", "prev_hash"}
    assert [e["seq"] for e in cli_json("audit", "list", "--after", "2", "--limit", "1")] == [3]
    assert "run.create" in cli("audit", "list").stdout
    with sqlite3.connect(db_path(home)) as conn:
        conn.execute("UPDATE audit_events SET action = 'run.delete' WHERE seq = 2")
    result = cli("audit", "verify")
    assert result.exit_code == 1 and result.stderr.startswith("error: chain broken at event #2: ")
    broken = runner.invoke(app, ["audit", "verify", "--json"])
    assert broken.exit_code == 1 and json.loads(broken.stdout)["first_broken_seq"] == 2


# -- db ---------------------------------------------------------------------------------
def test_db_upgrade(home: Path, tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    doc = cli_json("db", "upgrade", "--uri", fresh)
    assert doc["from_revision"] is None and doc["to_revision"] and doc["changed"] is True
    result = cli("db", "upgrade", "--uri", fresh)
    assert result.exit_code == 0 and "already at revision" in result.stdout
    result = cli("db", "upgrade", "--uri", "http://127.0.0.1:8080")
    assert result.exit_code == 2 and "owns" in result.stderr


# -- server -----------------------------------------------------------------------------
def test_server_passes_options_to_serve(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    fake = types.ModuleType("shipyard.server.runner")
    fake.serve = lambda **kwargs: calls.append(kwargs)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shipyard.server.runner", fake)
    assert cli("server", "--port", "9999", "--auth").exit_code == 0
    assert calls == [
        {
            "host": "127.0.0.1",
            "port": 9999,
            "backend_uri": f"sqlite:///{home / 'shipyard.db'}",
            "artifacts_uri": str(home / "artifacts"),
            "require_auth": True,
        }
    ]
    result = cli("server", "--backend-uri", "http://elsewhere:8080")
    assert result.exit_code == 2 and "--backend-uri" in result.stderr and len(calls) == 1
    assert cli("server", "--port", "70000").exit_code == 2


# -- the installed console script -------------------------------------------------------
def shipyard_script() -> str:
    beside = Path(sys.executable).parent / "shipyard"
    found = str(beside) if beside.exists() else shutil.which("shipyard")
    assert found is not None, "the shipyard console script is not installed: pip install -e ."
    return found


def test_console_script_end_to_end(ws: Workspace, home: Path) -> None:
    run_id = make_run(ws, lr=0.4)
    env = {**os.environ, "SHIPYARD_HOME": str(home), "COLUMNS": "200"}
    listed = subprocess.run(
        [shipyard_script(), "runs", "list", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    assert [d["id"] for d in json.loads(listed.stdout)] == [run_id]
    missing = subprocess.run(
        [shipyard_script(), "runs", "show", "0" * 32], capture_output=True, text=True, env=env, timeout=120
    )
    assert (
        missing.returncode == 3 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    )
