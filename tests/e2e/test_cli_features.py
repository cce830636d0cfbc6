"""``shipyard features`` end to end, in process: apply a defs file, list, show, refuse, force, materialise."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner, Result

from shipyard.cli.main import app

runner = CliRunner()

DEFS = """
from datetime import timedelta

import shipyard as sy

user = sy.Entity(name="user", join_keys=["user_id"])
user_stats = sy.FeatureView(
    name="user_stats",
    entities=[user],
    source={source!r},
    timestamp_field="event_time",
    ttl=timedelta(days=30),
    features={{"avg_amount_7d": "float", "tx_count_7d": "{count_type}"}},
)


@sy.on_demand(inputs=["user_stats:avg_amount_7d", "amount"], outputs={{"amount_ratio": "float"}})
def amount_ratio(df):
    return {{"amount_ratio": df["amount"] / df["avg_amount_7d"]}}


fraud_model = sy.FeatureService("fraud_model", [user_stats, "amount_ratio:amount_ratio"])
"""


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def cli_json(*args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def write_defs(folder: Path, source: Path, count_type: str = "int") -> Path:
    path = folder / "defs.py"
    path.write_text(textwrap.dedent(DEFS.format(source=str(source), count_type=count_type)))
    return path


def test_features_workflow(home: Path, tmp_path: Path) -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    source = tmp_path / "tx.parquet"
    pd.DataFrame(
        {"user_id": [1, 2], "event_time": [at, at], "avg_amount_7d": [2.0, 4.0], "tx_count_7d": [3, 5]}
    ).to_parquet(source, index=False)
    defs = write_defs(tmp_path, source)

    applied = cli("features", "apply", str(defs))
    assert applied.exit_code == 0, applied.stderr
    for word in ("entity", "user_stats", "amount_ratio", "fraud_model", "created"):
        assert word in applied.stdout
    again = cli_json("features", "apply", str(defs))
    assert {c["status"] for c in again} == {"unchanged"}

    listed = cli_json("features", "list")
    assert [(d["kind"], d["name"], d["version"]) for d in listed] == [
        ("entity", "user", 1),
        ("feature_service", "fraud_model", 1),
        ("feature_view", "user_stats", 1),
        ("on_demand", "amount_ratio", 1),
    ]
    table = cli("features", "list")
    assert "2 features, ttl 30 days, 0:00:00" in table.stdout

    shown = cli("features", "show", "user_stats")
    assert shown.exit_code == 0 and "avg_amount_7d" in shown.stdout and "user (user_id)" in shown.stdout
    service = cli_json("features", "show", "fraud_model")
    assert service["spec"]["features"] == [
        "user_stats:avg_amount_7d", "user_stats:tx_count_7d", "amount_ratio:amount_ratio",
    ]  # fmt: skip
    assert cli_json("features", "show", "amount_ratio")["spec"]["function"] == "defs:amount_ratio"

    retyped = write_defs(tmp_path, source, count_type="float")
    refused = cli("features", "apply", str(retyped))
    assert refused.exit_code == 4, refused.stdout
    assert (
        "'tx_count_7d' changes type from 'int' to 'float'" in refused.stderr and "--force" in refused.stderr
    )
    forced = cli_json("features", "apply", str(retyped), "--force")
    assert [(c["name"], c["version"], c["status"]) for c in forced if c["status"] != "unchanged"] == [
        ("user_stats", 2, "updated")
    ]
    old = cli_json("features", "show", "user_stats@1")
    assert old["version"] == 1 and old["spec"]["features"][1] == ["tx_count_7d", "int"]
    assert cli_json("features", "show", "user_stats")["versions"] == [1, 2]

    done = cli_json("features", "materialize", "--end", "2024-01-02T00:00:00Z")
    assert [(r["view"], r["version"], r["rows"]) for r in done] == [("user_stats", 2, 2)]
    text = cli("features", "materialize", "--view", "user_stats", "--incremental", "--end", "2024-01-03")
    assert text.exit_code == 0 and "user_stats@2: 0 entities online" in text.stdout

    missing = cli("features", "show", "nothing")
    assert missing.exit_code == 3 and "'nothing' not found" in missing.stderr
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    failed = cli("features", "apply", str(broken))
    assert failed.exit_code == 1 and "broken.py failed: RuntimeError: boom" in failed.stderr
