"""``shipyard deploy``, ``shipyard deployments`` and ``shipyard predict`` in process, on an embedded
home where model ``fraud`` has versions 1..3 and ``production`` holds 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app
from shipyard.cli.output import INVALID_INPUT, NOT_FOUND
from shipyard.core.config import load_settings
from shipyard.serving.models import RouteStatus
from shipyard.workspace import Workspace
from tests.unit.serving.conftest import log_model, make_frame

runner = CliRunner()


def cli(*args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def cli_json(*args: str, code: int = 0) -> Any:
    return json.loads(cli(*args, "--json", code=code).stdout)


@pytest.fixture
def fraud(home: Path) -> None:
    workspace = Workspace(load_settings())
    try:
        for seed in (1, 2, 3):
            workspace.registry.register("fraud", log_model(workspace, seed))
        workspace.registry.promote("fraud", 1, "production")
    finally:
        workspace.close()


def test_deploy_show_history_list(fraud: None) -> None:
    doc = cli_json(
        "deploy", "fraud", "--model", "fraud@production", "--canary", "fraud:2=10%", "--shadow", "fraud:3",
        "--max-batch-size", "32", "--routing-key", "user_id", "--reason", "first",
    )  # fmt: skip
    assert (doc["version"], doc["created"], doc["batching"]) == (
        1,
        True,
        {"max_batch_size": 32, "max_wait_ms": 2.0},
    )
    assert [(r["name"], r["weight"]) for r in doc["routes"]] == [
        ("primary", 90),
        ("canary", 10),
        ("shadow", 0),
    ]
    again = cli(
        "deploy", "fraud", "--model", "fraud@production", "--canary", "fraud:2=10%", "--shadow", "fraud:3",
        "--max-batch-size", "32", "--routing-key", "user_id",
    )  # fmt: skip
    assert "nothing changed" in again.stdout
    cli("deployments", "set-weight", "fraud", "canary", "25%", "--reason", "looks good")
    workspace = Workspace(load_settings())
    try:
        workspace.serving.report_status("fraud", RouteStatus("canary", None, "failed", "cannot load fraud:2"))
        workspace.serving.report_status("fraud", RouteStatus("primary", "fraud:1", "ready"))
    finally:
        workspace.close()
    shown = cli_json("deployments", "show", "fraud")
    routes = {r["name"]: r for r in shown["routes"]}
    assert routes["primary"]["resolved"] == "fraud:1" and routes["primary"]["weight"] == 75
    assert routes["canary"]["status"]["state"] == "failed"
    assert routes["canary"]["status"]["error"] == "cannot load fraud:2"
    assert shown["resolve_error"] is None
    text = cli("deployments", "show", "fraud").stdout
    assert "cannot load fraud:2" in text and "fraud:1" in text and "failed" in text
    assert [s["version"] for s in cli_json("deployments", "history", "fraud")] == [1, 2]
    assert "looks good" in cli("deployments", "history", "fraud").stdout
    listed = cli_json("deployments", "list")
    assert [d["name"] for d in listed] == ["fraud"]
    assert "failed" in cli("deployments", "list").stdout
    cli("deployments", "undeploy", "fraud")
    assert cli_json("deployments", "list") == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--model", "fraud@production", "--canary", "fraud:2=ten%"], INVALID_INPUT, "bad weight"),
        (["--model", "fraud@production", "--canary", "fraud:2"], INVALID_INPUT, "has no weight"),
        (["--model", "fraud@production", "--shadow", "fraud:3=5%"], INVALID_INPUT, "takes no weight"),
        (["--ab", "fraud:1=50%,fraud:2=40%"], INVALID_INPUT, "sum to 100%"),
        (["--model", "fraud@staging"], NOT_FOUND, "staging"),
        (["--model", "nope:1"], NOT_FOUND, "nope"),
        (["--model", "fraud@production", "--max-batch-size", "0"], INVALID_INPUT, "max_batch_size"),
        ([], INVALID_INPUT, "nothing to serve"),
    ],
)
def test_bad_deploys_exit_with_a_clear_error(fraud: None, args: list[str], code: int, message: str) -> None:
    result = cli("deploy", "fraud", *args, code=code)
    assert message in result.stderr


def test_unknown_deployment(fraud: None) -> None:
    assert "not found" in cli("deployments", "show", "nope", code=NOT_FOUND).stderr
    cli("deploy", "fraud", "--model", "fraud@production")
    assert "no route" in cli("deployments", "set-weight", "fraud", "blue", "5", code=INVALID_INPUT).stderr


def test_predict_scores_a_file(fraud: None, tmp_path: Path) -> None:
    frame = make_frame(300, 5)
    frame.insert(0, "id", range(300))
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    doc = cli_json(
        "predict", "--model", "fraud@production", "--input", str(tmp_path / "in.parquet"),
        "--output", str(tmp_path / "out.parquet"), "--chunk-size", "100", "--keep", "id",
    )  # fmt: skip
    assert (doc["rows"], doc["chunks"], doc["model_version"]) == (300, 3, "fraud:1")
    assert pq.read_table(tmp_path / "out.parquet").column_names == [
        "id", "prediction", "probabilities", "model_version",
    ]  # fmt: skip
    text = cli(
        "predict", "-m", "fraud:2", "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o2.parquet")
    )
    assert "scored 300 rows with fraud:2" in text.stdout
    bad = cli(
        "predict",
        "-m",
        "fraud:2",
        "-i",
        str(tmp_path / "missing.parquet"),
        "-o",
        "x.parquet",
        code=INVALID_INPUT,
    )
    assert "no such file" in bad.stderr


def test_storage_gc_keeps_the_prediction_log(home: Path) -> None:
    from tests.unit.serving.test_prediction_log import record

    workspace = Workspace(load_settings())
    try:
        logger = workspace.serving.prediction_logger()
        for i in range(3):
            logger.log(record(i))
    finally:
        workspace.close()  # writes the segment
    cli("data", "gc", "--yes")
    workspace = Workspace(load_settings())
    try:
        assert len(workspace.serving.predictions("fraud")) == 3
    finally:
        workspace.close()
