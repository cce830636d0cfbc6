"""``shipyard scheduler``: add, list, request, one pass with JSON log lines, history, remove."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from shipyard.cli.main import app

runner = CliRunner()
REF = "tests.unit.pipelines.scheduled"


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def cli_json(*args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_add_list_run_once_history_remove(home: Path, tmp_path: Path) -> None:
    added = cli_json(
        "scheduler",
        "add",
        f"{REF}:needs_value",
        "-t",
        "dataset:tx=value",
        "--cron",
        "0 3 * * *",
        "-p",
        "value=v",
    )
    assert added["triggers"] == [{"kind": "dataset", "name": "tx", "param": "value"}]
    assert added["params"] == {"value": "v"}
    missing = cli("scheduler", "add", f"{REF}:needs_value", "--cron", "0 3 * * *")
    assert missing.exit_code == 2 and "value" in missing.stderr, "a cron run would have no value"
    listed = cli_json("scheduler", "list")
    assert [(s["ref"], s["cron"]) for s in listed] == [(f"{REF}:needs_value", "0 3 * * *")]
    assert "dataset tx -> value" in cli("scheduler", "list").stdout

    (tmp_path / "tx.csv").write_text("a\n1\n")
    assert cli("data", "add", str(tmp_path / "tx.csv"), "--name", "tx").exit_code == 0
    requested = cli(
        "scheduler", "request", f"{REF}:needs_value", "-p", "value=by hand", "--reason", "why not"
    )
    assert requested.exit_code == 0 and "requested" in requested.stdout

    result = cli("scheduler", "--once", "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    finished = sorted((n["event"].partition(":")[0], n["status"]) for n in lines if n["kind"] == "finished")
    assert finished == [("audit", "succeeded"), ("request", "succeeded")]
    assert all("at_ms" in n and n["ref"] == f"{REF}:needs_value" for n in lines)

    history = cli_json("scheduler", "history", f"{REF}:needs_value")
    assert [h["reason"].split(" (")[0] for h in history] == ["dataset tx@1"]
    everything = cli_json("scheduler", "history")
    assert {h["status"] for h in everything} == {"succeeded"} and len(everything) == 2
    assert "why not" in cli("scheduler", "history").stdout

    assert cli("scheduler", "remove", f"{REF}:needs_value").exit_code == 0
    assert cli_json("scheduler", "list") == []
    assert cli("scheduler", "remove", f"{REF}:needs_value").exit_code == 3
