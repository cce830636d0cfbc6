"""``shipyard validate`` end to end: pass, fail with a table, bad suite, --json, stored results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app

runner = CliRunner()

SUITE = """\
name: sales
checks:
  - {column: id, unique: true}
  - {column: amount, not_null: true}
  - {column: amount, between: {min: 0, max: 100}}
  - {row_count: {min: 2}}
"""


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    return path


def test_pass_then_fail_on_dataset_versions(home: Path, tmp_path: Path, suite: Path) -> None:
    data = tmp_path / "sales.csv"
    data.write_text("id,amount\n1,10.0\n2,20.0\n")
    assert cli("data", "add", str(data), "--name", "sales").exit_code == 0
    passed = cli("validate", str(suite), "sales@1")
    assert passed.exit_code == 0, passed.stderr
    assert "all checks passed" in passed.stdout and "FAIL" not in passed.stdout

    data.write_text("id,amount\n1,10.0\n1,\n3,500.0\n")
    assert cli("data", "add", str(data), "--name", "sales").exit_code == 0
    failed = cli("validate", str(suite), "sales")
    assert failed.exit_code == 1
    assert "3 of 4 checks failed" in failed.stdout
    for text in ("unique", "not_null", "between", "FAIL", "pass", "500"):
        assert text in failed.stdout

    from shipyard.workspace import Workspace

    workspace = Workspace()
    try:
        stored = workspace.validation.list_results("sales@2")
        assert len(stored) == 1 and not stored[0].success
        assert workspace.validation.list_results("sales@1")[0].success
    finally:
        workspace.close()


def test_local_path_and_json(home: Path, tmp_path: Path, suite: Path) -> None:
    data = tmp_path / "folder"
    data.mkdir()
    (data / "part.csv").write_text("id,amount\n1,10.0\n2,-5.0\n")
    result = cli("validate", str(suite), str(data), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["success"] is False and doc["data_ref"] == str(data) and doc["id"] is None
    between = doc["checks"][2]
    assert (between["kind"], between["failing_rows"], between["sample"]) == (
        "between",
        1,
        [{"id": 2, "amount": -5.0}],
    )
    assert doc["created_at"].endswith("Z") and isinstance(doc["created_at_ms"], int)


def test_bad_suite_exits_2_naming_the_line(home: Path, tmp_path: Path, suite: Path) -> None:
    suite.write_text(SUITE.replace("not_null: true", "not_nul: true"))
    result = cli("validate", str(suite), str(tmp_path / "whatever.csv"))
    assert result.exit_code == 2
    assert "suite.yaml line 4: unknown check 'not_nul'" in result.stderr


def test_missing_column_exits_2_naming_the_line(home: Path, tmp_path: Path, suite: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("id,price\n1,2.0\n")
    result = cli("validate", str(suite), str(data))
    assert result.exit_code == 2
    assert "suite.yaml line 4: column 'amount' does not exist" in result.stderr


def test_unknown_dataset_exits_3(home: Path, suite: Path) -> None:
    assert cli("validate", str(suite), "nope@1").exit_code == 3
