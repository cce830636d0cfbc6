"""The feature registry contract over REST (a real server on PostgreSQL), and online serving over HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.features.models import Entity, FeatureView
from shipyard.features.store.base import FeatureRegistryStore
from shipyard.features.store.rest import RestFeatureRegistryStore

from .feature_contract import FeatureRegistryStoreContract, draft, view
from .server_process import running_server


@pytest.fixture
def rest_store(postgres_uri: str, rest_server: str) -> Iterator[RestFeatureRegistryStore]:
    store = RestFeatureRegistryStore(rest_server, timeout=30.0)
    yield store
    store.close()


@pytest.mark.postgres
class TestRestFeatureRegistryStore(FeatureRegistryStoreContract):
    @pytest.fixture
    def store(self, rest_store: RestFeatureRegistryStore) -> FeatureRegistryStore:
        return rest_store


@pytest.mark.postgres
def test_the_server_refuses_malformed_definitions(rest_store: RestFeatureRegistryStore) -> None:
    good = draft(view())
    for bad, message in [
        (dataclasses.replace(good, digest="blake3:" + "0" * 64), "does not match its spec"),
        (dataclasses.replace(good, name="other"), "names 'user_stats', not 'other'"),
        (dataclasses.replace(good, spec={**good.spec, "extra": 1}), "not canonical"),
        (dataclasses.replace(good, spec={**good.spec, "ttl_us": -5}), "ttl must be positive"),
        (dataclasses.replace(good, kind="model"), "unknown definition kind"),
        (dataclasses.replace(good, id="nope"), "definition id"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            rest_store.create_definition(bad)
    assert rest_store.list_definitions() == []


def test_online_features_over_http(tmp_path: Path) -> None:
    """``shipyard server`` serves what was materialised into its home's online store."""
    from shipyard.core.config import load_settings
    from shipyard.workspace import Workspace

    home = tmp_path / "home"
    at = datetime(2024, 1, 1, tzinfo=UTC)
    rows = pd.DataFrame({"user_id": [7, 8], "event_time": [at, at], "avg": [1.5, 2.5], "name": ["a", None]})
    rows.to_parquet(tmp_path / "t.parquet", index=False)
    source = str(tmp_path / "t.parquet")
    stats = FeatureView(
        name="stats", entities=[Entity("user", ["user_id"])], source=source, timestamp_field="event_time",
        features={"avg": "float", "name": "string"},
    )  # fmt: skip
    uri = f"sqlite:///{home / 'meta.db'}"
    workspace = Workspace(load_settings({}, home=str(home), uri=uri, artifacts_uri=str(tmp_path / "art")))
    workspace.features.apply([stats])
    workspace.features.materialize(end=at + timedelta(days=1))
    workspace.close()
    with running_server(uri, tmp_path / "art", home) as url, httpx.Client(base_url=url) as client:
        body = {"entity_rows": [{"user_id": 7}, {"user_id": 9}], "features": ["stats:avg", "stats:name"]}
        answer = client.post("/api/v1/features/online", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"columns": {"user_id": [7, 9], "avg": [1.5, None], "name": ["a", None]}}
        for bad, message in [
            ({"entity_rows": [{"user_id": 7}], "features": ["nope:x"]}, "unknown feature view"),
            ({"entity_rows": [], "features": ["stats:avg"]}, "non-empty list"),
            ({"entity_rows": [{"id": 7}], "features": ["stats:avg"]}, "no join key 'user_id'"),
            ({"entity_rows": [{"user_id": 7}]}, "either"),
        ]:
            refused = client.post("/api/v1/features/online", json=bad)
            assert 400 <= refused.status_code < 500 and message in refused.json()["error"]["message"], (
                refused.text
            )
        assert client.post("/api/v1/features/online", content=b"{").status_code == 400
