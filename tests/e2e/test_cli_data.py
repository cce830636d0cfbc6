"""``shipyard data`` end to end, in process: add, modify, status, add again, diff, checkout, gc."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from shipyard.cli.main import app

runner = CliRunner()


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def cli_json(*args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    past = time.time() - 60
    os.utime(path, (past, past))


def test_data_workflow(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data / "train.csv", "id,amount\n1,10.0\n2,20.0\n")
    write(data / "notes.txt", "v1")

    added = cli("data", "add", str(data), "--name", "sales", "-m", "first")
    assert added.exit_code == 0, added.stderr
    assert "added sales@1 (2 files" in added.stdout

    assert "is unchanged" in cli("data", "add", str(data), "--name", "sales").stdout
    clean = cli("data", "status", "sales")
    assert "up to date" in clean.stdout and "modified:" not in clean.stdout

    write(data / "train.csv", "id,amount,note\n1,10.0,a\n2,40.0,b\n3,1.0,c\n")
    write(data / "extra.txt", "new")
    status = cli("data", "status")
    assert "modified: train.csv" in status.stdout and "added: extra.txt" in status.stdout
    report = cli_json("data", "status", "sales")["datasets"][0]
    assert (report["modified"], report["added"], report["removed"]) == (["train.csv"], ["extra.txt"], [])

    second = cli_json("data", "add", str(data), "--name", "sales")
    assert second["version"] == 2 and second["created"] is True and second["row_count"] == 3

    listed = cli_json("data", "list")
    assert [(d["name"], d["version"]) for d in listed] == [("sales", 2)]
    shown = cli("data", "show", "sales@2")
    assert shown.exit_code == 0 and "train.csv" in shown.stdout and "Profile of train.csv" in shown.stdout
    assert cli_json("data", "show", "sales@1")["files"][0]["path"] == "notes.txt"

    diff = cli_json("data", "diff", "sales@1", "sales@2")
    assert [f["path"] for f in diff["added"]] == ["extra.txt"]
    assert [c["path"] for c in diff["changed"]] == ["train.csv"]
    assert diff["schema_changes"]["train.csv"]["added"] == [
        ["note", diff["schema_changes"]["train.csv"]["added"][0][1]]
    ]
    assert "added" in cli("data", "diff", "sales@1", "sales@2").stdout

    out = tmp_path / "out"
    assert cli("data", "checkout", "sales@1", str(out)).exit_code == 0
    assert (out / "train.csv").read_text() == "id,amount\n1,10.0\n2,20.0\n"
    refused = cli("data", "checkout", "sales@2", str(out))
    assert refused.exit_code == 4 and "not empty" in refused.stderr
    assert cli("data", "checkout", "sales@2", str(out), "--force").exit_code == 0
    assert (out / "extra.txt").read_text() == "new"

    assert cli_json("data", "gc")["orphans"] == []


def test_gc_lists_then_deletes_and_keeps_run_artifacts(home: Path, tmp_path: Path) -> None:
    from shipyard.workspace import Workspace

    write(tmp_path / "one.csv", "id\n1\n")
    assert cli("data", "add", str(tmp_path / "one.csv"), "--name", "one").exit_code == 0
    workspace = Workspace()
    try:
        orphan = workspace.content.put_bytes(b"orphan blob")
        run = workspace.tracking.create_run("exp")
        write(tmp_path / "model.bin", "weights")
        artifact = workspace.tracking.log_artifact(run.id, tmp_path / "model.bin")[0].digest
    finally:
        workspace.close()

    dry = cli("data", "gc")
    assert dry.exit_code == 0 and orphan in dry.stdout and "--yes" in dry.stdout
    assert artifact not in dry.stdout
    deleted = cli_json("data", "gc", "--yes")
    assert deleted["orphans"] == [orphan] and deleted["deleted"] is True
    assert cli_json("data", "gc")["orphans"] == []
    assert cli("data", "checkout", "one", str(tmp_path / "out")).exit_code == 0


def test_bad_input_exits_with_a_clear_error(home: Path, tmp_path: Path) -> None:
    missing = cli("data", "add", str(tmp_path / "nope"), "--name", "x")
    assert missing.exit_code == 2 and "nope" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = cli("data", "add", str(tmp_path / "empty"), "--name", "x")
    assert empty.exit_code == 2 and "empty" in empty.stderr
    write(tmp_path / "ragged/r.csv", "a,b\n1,2\n3\n")
    ragged = cli("data", "add", str(tmp_path / "ragged"), "--name", "x")
    assert ragged.exit_code == 2 and "r.csv" in ragged.stderr
    assert cli_json("data", "list") == []
    assert cli("data", "show", "x@1").exit_code == 3
    assert cli("data", "show", "x@zero").exit_code == 2


def test_init_makes_the_home_with_its_database(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(sys.executable).with_name("shipyard")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    done = subprocess.run(
        [str(script), "init", str(tmp_path), "--json"], capture_output=True, text=True, env=env, check=True
    )
    doc = json.loads(done.stdout)
    assert doc["created"] is True and doc["schema_revision"]
    assert (tmp_path / ".shipyard" / "shipyard.db").is_file()
    assert (tmp_path / ".shipyard" / "artifacts").is_dir()
    again = subprocess.run(
        [str(script), "init", str(tmp_path), "--json"], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(again.stdout)["created"] is False
