"""``shipyard tune list|show``: the studies ``sy.tune`` stored, as tables and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli.main import app
from shipyard.workspace import set_workspace
from tests.unit.tuning import objectives

runner = CliRunner()


def test_list_and_show_a_study(home: Path) -> None:
    result = sy.tune(objectives.learning, objectives.SPACE, n_trials=7, seed=2, study="cli-study")
    set_workspace(None)
    listed = runner.invoke(app, ["tune", "list", "--json"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.stderr
    [study] = json.loads(listed.stdout)
    assert (study["name"], study["n_trials"], study["best_run_id"]) == ("cli-study", 7, result.best_run_id)
    assert "cli-study" in runner.invoke(app, ["tune", "list"]).stdout

    shown = runner.invoke(app, ["tune", "show", "cli-study", "--json"], catch_exceptions=False)
    doc = json.loads(shown.stdout)
    assert [t["run_id"] for t in doc["trials"]] == result.trials["run_id"].tolist()
    first = doc["trials"][0]
    assert first["state"] == "complete" and list(first["intermediate"]) == ["0", "1", "2", "3", "4"]
    table = runner.invoke(app, ["tune", "show", "cli-study"]).stdout
    assert "loguniform(0.0001, 0.1)" in table and "Trials" in table
    missing = runner.invoke(app, ["tune", "show", "nope"])
    assert missing.exit_code == 3 and "not found" in missing.stderr
