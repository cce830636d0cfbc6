"""``shipyard pipelines``: run with parameters, list, show and resume, in process with CliRunner."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app

runner = CliRunner()

FLOW = """
from pathlib import Path

import shipyard as sy


@sy.step
def numbers(n: int) -> list:
    return list(range(n))


@sy.step(retries=1, retry_delay=0.01)
def guarded(values: list, flag: str) -> int:
    if not Path(flag).exists():
        raise RuntimeError("no flag yet")
    return sum(values)


@sy.pipeline
def flow(n: int, flag: str = "flag.txt"):
    return guarded(numbers(n), flag)
"""


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def cli_json(*args: str, code: int = 0) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def module(home: Path) -> Iterator[str]:
    """A pipeline module in the working directory, under a name no other test uses."""
    name = f"cli_flow_{uuid.uuid4().hex[:8]}"
    (home.parent / f"{name}.py").write_text(FLOW)
    yield name
    sys.modules.pop(name, None)


def test_run_show_list_and_resume(module: str, home: Path) -> None:
    failed = cli_json("pipelines", "run", f"{module}:flow", "-p", "n=4", code=1)
    assert failed["status"] == "failed" and failed["params"] == {"n": 4, "flag": "flag.txt"}
    steps = {s["node"]: s for s in failed["steps"]}
    assert steps["numbers"]["status"] == "succeeded"
    assert steps["guarded"]["status"] == "failed" and steps["guarded"]["attempts"] == 2
    assert "RuntimeError: no flag yet" in steps["guarded"]["error"]
    shown = cli("pipelines", "show", failed["id"][-8:])
    assert shown.exit_code == 0
    assert "step guarded failed after 2 attempt(s)" in shown.stdout and "no flag yet" in shown.stdout
    (home.parent / "flag.txt").write_text("go")
    resumed = cli_json("pipelines", "resume", failed["id"])
    assert resumed["status"] == "succeeded" and resumed["resumed_from"] == failed["id"]
    assert {s["node"]: s["status"] for s in resumed["steps"]} == {"numbers": "cached", "guarded": "succeeded"}
    listed = cli_json("pipelines", "list")
    assert [r["id"] for r in listed] == [resumed["id"], failed["id"]]
    table = cli("pipelines", "list")
    assert failed["id"][-8:] in table.stdout and "succeeded" in table.stdout


def test_run_shows_each_step_and_no_cache_runs_them_again(module: str, home: Path) -> None:
    (home.parent / "flag.txt").write_text("go")
    first = cli("pipelines", "run", f"{module}:flow", "-p", "n=3")
    assert first.exit_code == 0, first.stderr
    assert "numbers" in first.stdout and "guarded" in first.stdout and "succeeded" in first.stdout
    cached = cli_json("pipelines", "run", f"{module}:flow", "-p", "n=3")
    assert {s["status"] for s in cached["steps"]} == {"cached"}
    forced = cli_json("pipelines", "run", f"{module}:flow", "-p", "n=3", "--no-cache")
    assert {s["status"] for s in forced["steps"]} == {"succeeded"}


def test_bad_parameters_and_names_are_refused_before_anything_runs(module: str) -> None:
    missing = cli("pipelines", "run", f"{module}:flow")
    assert missing.exit_code == 2 and "needs parameter(s) 'n'" in missing.stderr
    wrong = cli("pipelines", "run", f"{module}:flow", "-p", "n=four")
    assert wrong.exit_code == 2 and "parameter 'n' must be an int, got 'four'" in wrong.stderr
    assert cli("pipelines", "run", f"{module}:flow", "-p", "n").exit_code == 2
    assert cli("pipelines", "run", "no_such_module_here:flow").exit_code == 3
    assert cli("pipelines", "run", f"{module}:numbers").exit_code == 2
    assert cli("pipelines", "run", f"{module}:flow", "-p", "n=1", "--executor", "spark").exit_code == 2
    assert cli_json("pipelines", "list") == []
