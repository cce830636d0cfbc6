"""The feature store through a real server: definitions on the server, retrieval and serving.

A server process with ``--auth`` on a SQLite file. The SDK in this process talks to it
(``uri=http://...``): ``apply`` records the definitions there (the server checks each
spec), retrieval runs here, materialisation writes the server's online store (its
``online.db``, named to the SDK by ``online_uri``) and the server serves the values.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

import shipyard as sy
from shipyard.core.config import load_settings
from shipyard.core.errors import PermissionDenied
from shipyard.features.models import Entity, FeatureService, FeatureView
from shipyard.workspace import Workspace
from tests.contract.server_process import running_server

AT = datetime(2024, 1, 1, tzinfo=UTC)


@sy.on_demand(inputs=["stats:avg", "amount"], outputs={"ratio": "float"})
def ratio(frame: pd.DataFrame) -> dict[str, object]:
    return {"ratio": frame["amount"] / frame["avg"]}


def test_remote_feature_store(tmp_path: Path) -> None:
    online = f"sqlite:///{tmp_path / 'server-home' / 'online.db'}"
    settings = load_settings({}, home=str(tmp_path / "server-home"), uri=f"sqlite:///{tmp_path / 'meta.db'}")
    local = Workspace(settings)
    _, editor = local.auth.create_token("ann", "editor")
    _, viewer = local.auth.create_token("val", "viewer")
    local.close()
    source = tmp_path / "t.parquet"
    pd.DataFrame({"user_id": [1, 2], "event_time": [AT, AT], "avg": [2.0, 4.0]}).to_parquet(
        source, index=False
    )
    user = Entity("user", ["user_id"])
    stats = FeatureView(
        name="stats",
        entities=[user],
        source=str(source),
        timestamp_field="event_time",
        features={"avg": "float"},
    )
    home = str(tmp_path / "client-home")
    with running_server(settings.uri, tmp_path / "artifacts", tmp_path / "server-home", auth=True) as url:
        client = Workspace(load_settings({}, home=home, uri=url, token=editor, online_uri=online))
        changes = client.features.apply([stats, ratio, FeatureService("model", ["stats:avg", "ratio:ratio"])])
        assert [(c.kind, c.name, c.status) for c in changes] == [
            ("entity", "user", "created"),
            ("feature_view", "stats", "created"),
            ("on_demand", "ratio", "created"),
            ("feature_service", "model", "created"),
        ]
        assert [c.status for c in client.features.apply([stats])] == ["unchanged", "unchanged"]
        assert client.features.get("stats").created_by == "ann"
        frame = pd.DataFrame({"user_id": [1, 2], "event_timestamp": [AT, AT], "amount": [1.0, 1.0]})
        assert client.features.historical(frame, service="model")["ratio"].tolist() == [0.5, 0.25]
        (report,) = client.features.materialize(end=AT + timedelta(hours=1))
        assert report.rows == 2 and client.features.watermarks()[0].end_ms == report.end_ms
        client.close()

        reader = Workspace(load_settings({}, home=home, uri=url, token=viewer, online_uri=online))
        with pytest.raises(PermissionDenied):
            reader.features.apply([dataclasses.replace(stats, description="changed")])
        reader.close()

        body = {"entity_rows": [{"user_id": 1}, {"user_id": 3}], "features": ["stats:avg"]}
        token = {"Authorization": f"Bearer {viewer}"}
        answer = httpx.post(f"{url}/api/v1/features/online", json=body, headers=token)
        assert answer.status_code == 200 and answer.json()["columns"] == {
            "user_id": [1, 3],
            "avg": [2.0, None],
        }
        assert httpx.post(f"{url}/api/v1/features/online", json=body).status_code == 401
