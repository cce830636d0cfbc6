"""``sy.features`` in an embedded home: the SDK namespace, run lineage, online reads from SQLite."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta
from pathlib import Path

import pandas as pd

import shipyard as sy
from shipyard.tracking.models import RunInput
from shipyard.workspace import set_workspace

from .conftest import T0, transactions

HOUR = timedelta(hours=1)


def test_sdk_functions_survive_domain_imports() -> None:
    """Importing every module of the domain (online stores too) must not hide an SDK function."""
    import shipyard.features as package

    for module in pkgutil.walk_packages(package.__path__, "shipyard.features."):
        if not module.name.endswith((".redis",)):
            importlib.import_module(module.name)
    for name in package.SDK_FUNCTIONS:
        function = getattr(sy.features, name)
        assert callable(function), name
        assert function.__module__ == "shipyard.sdk.features", name
    from shipyard.features.onlinestore import ONLINE_STORES

    assert ONLINE_STORES["sqlite"].endswith("SqliteOnlineStore")


def test_features_in_an_embedded_home(home: Path, tmp_path: Path) -> None:
    try:
        user = sy.Entity(name="user", join_keys=["user_id"])
        view = sy.FeatureView(
            name="user_stats",
            entities=[user],
            source="tx",
            timestamp_field="event_time",
            ttl=None,  # online values never expire: the rows are from 2024
            features={"avg": "float", "count": "int"},
        )
        version = sy.datasets.add(transactions(tmp_path / "t.parquet"), "tx")
        assert [c.status for c in sy.features.apply([user, view])] == ["created", "created"]
        assert sy.features.get("user_stats").version == 1
        assert [d.name for d in sy.features.list("feature_view")] == ["user_stats"]
        frame = pd.DataFrame({"user_id": [1], "event_timestamp": [T0 + HOUR]})
        with sy.start_run(experiment="features") as run:
            result = sy.features.historical(frame, features=["user_stats:avg"])
        assert result["avg"].tolist() == [1.0]
        inputs = {(i.kind, i.ref) for i in _inputs(run.id)}
        assert inputs == {("feature_view", "user_stats@1"), ("dataset", version.ref)}
        (report,) = sy.features.materialize(end=T0 + 3 * HOUR)
        assert report.rows == 3
        assert (home / "online.db").is_file()
        served = sy.features.online(
            entity_rows=[{"user_id": 1}], features=["user_stats:avg", "user_stats:count"]
        )
        assert served == {"user_id": [1], "avg": [2.0], "count": [20]}
    finally:
        set_workspace(None)


def _inputs(run_id: str) -> list[RunInput]:
    from shipyard.workspace import current_workspace

    return current_workspace().tracking.list_inputs(run_id)
