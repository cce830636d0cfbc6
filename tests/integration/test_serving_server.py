"""Serving's control plane through a real server with ``--auth``: deploys checked on the server,
roles from tokens, the prediction log written by a remote logger, feedback, Arrow reads, and
batch scoring with a model fetched from the server.

One server process (SQLite) per module; ``ed`` is an editor and ``vic`` a viewer, each
talking to it through a remote workspace (``SHIPYARD_URI`` + ``SHIPYARD_TOKEN``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest

from shipyard.core.config import load_settings
from shipyard.core.errors import InvalidInputError, NotFoundError, PermissionDenied
from shipyard.serving.models import RouteStatus
from shipyard.serving.rest import RestServing
from shipyard.workspace import Workspace
from tests.contract.server_process import server_with_users
from tests.unit.serving.conftest import FEATURES, log_model, make_frame
from tests.unit.serving.test_prediction_log import record

USERS = {"vic": "viewer", "ed": "editor"}


@dataclass
class Server:
    url: str
    secrets: dict[str, str]
    folder: Path
    workspaces: dict[str, Workspace] = field(default_factory=dict)

    def workspace(self, user: str) -> Workspace:
        if user not in self.workspaces:
            settings = load_settings(
                home=str(self.folder / f"home-{user}"), uri=self.url, token=self.secrets[user]
            )
            self.workspaces[user] = Workspace(settings)
        return self.workspaces[user]

    def serving(self, user: str = "ed") -> RestServing:
        serving = self.workspace(user).serving
        assert isinstance(serving, RestServing)
        return serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serving-server")
    with server_with_users(folder, USERS) as (url, secrets):
        running = Server(url, secrets, folder)
        editor = running.workspace("ed")
        for seed in (1, 2, 3):
            editor.registry.register("fraud", log_model(editor, seed))
        editor.registry.promote("fraud", 1, "production")
        try:
            yield running
        finally:
            for workspace in running.workspaces.values():
                workspace.close()


def test_deploys_are_checked_by_the_server(server: Server) -> None:
    serving = server.serving()
    spec = serving.deploy(
        "checked",
        "fraud@production",
        canary="fraud:2=10%",
        shadow="fraud:3",
        batching={"max_batch_size": 8, "max_wait_ms": 1},
    )
    assert (spec.version, spec.created_by) == (1, "ed")
    assert [(r.name, r.weight) for r in spec.routes] == [("primary", 90), ("canary", 10), ("shadow", 0)]
    assert (
        serving.deploy(
            "checked",
            "fraud@production",
            canary="fraud:2=10%",
            shadow="fraud:3",
            batching={"max_batch_size": 8, "max_wait_ms": 1},
        ).version
        == 1
    )
    with pytest.raises(InvalidInputError, match="bad weight"):
        serving.deploy("checked", "fraud@production", canary="fraud:2=lots")
    with pytest.raises(InvalidInputError, match="takes no weight"):
        serving.deploy("checked", "fraud@production", shadow="fraud:3=5%")
    with pytest.raises(NotFoundError, match="staging"):
        serving.deploy("checked", "fraud@staging")
    assert serving.set_weight("checked", "canary", "30%", reason="good").version == 2
    assert [[r.weight for r in s.routes] for s in serving.history("checked")] == [[90, 10, 0], [70, 30, 0]]
    assert [r.ref for r in serving.resolve("checked")] == ["fraud:1", "fraud:2", "fraud:3"]
    serving.report_status("checked", RouteStatus("canary", "fraud:2", "failed", "boom"))
    deployment = serving.get("checked")
    assert deployment.statuses["canary"].error == "boom"
    assert deployment.statuses["canary"].updated_at > 0
    assert "checked" in [d.name for d in serving.list()]


def test_a_viewer_reads_but_cannot_deploy(server: Server) -> None:
    server.serving().deploy("roles", "fraud:1")
    viewer = server.serving("vic")
    assert viewer.get("roles").spec.version == 1
    with pytest.raises(PermissionDenied):
        viewer.deploy("roles", "fraud:2")
    with pytest.raises(PermissionDenied):
        viewer.set_weight("roles", "primary", 100)
    with pytest.raises(PermissionDenied):
        viewer.undeploy("roles")
    server.serving().undeploy("roles", reason="done")
    with pytest.raises(NotFoundError):
        viewer.get("roles")


def test_a_remote_logger_writes_the_log_and_feedback_joins_it(server: Server) -> None:
    serving = server.serving()
    serving.deploy("logged", "fraud@production")
    logger = serving.prediction_logger(segment_rows=4, flush_interval_s=60)
    for i in range(10):
        assert logger.log(record(i, "logged"))
    result = serving.record_feedback(
        [{"request_id": "logged-1", "label": 1, "ts": 2_000_000}, {"request_id": "nobody", "label": 0}],
        deployment="logged",
    )  # logged-1 is still pending here: flushed before the feedback travels
    assert result == {"accepted": 1, "unknown": ["nobody"]}
    logger.close()
    frame = server.serving("vic").predictions("logged")
    assert list(frame["request_id"]) == [f"logged-{i}" for i in range(10)]
    labelled = frame.dropna(subset=["label"])
    assert (list(labelled["request_id"]), list(labelled["label_ts_ms"])) == (["logged-1"], [2_000_000])
    assert list(frame["input.amount"]) == [float(i) for i in range(10)]
    window = server.serving("vic").predictions("logged", start=1_000_002, end=1_000_005, with_labels=False)
    assert list(window["ts_ms"]) == [1_000_002, 1_000_003, 1_000_004]
    with pytest.raises(InvalidInputError, match="deployment"):
        serving.record_feedback({"request_id": "logged-2", "label": 0})
    headers = {"Authorization": f"Bearer {server.secrets['vic']}"}
    rows = httpx.get(
        f"{server.url}/api/v1/deployments/logged/predictions", params={"format": "json"}, headers=headers
    ).json()
    assert rows[1]["label"] == 1 and rows[1]["inputs"]["age"] == 31 and rows[0]["prediction"] == 0


def test_bad_feedback_bodies_are_400(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.secrets['ed']}", "Content-Type": "application/json"}
    url = f"{server.url}/api/v1/deployments/logged/feedback"
    assert httpx.post(url, content=b"{not json", headers=headers).status_code == 400
    assert (
        httpx.post(url, json={"request_id": "x"}, headers=headers).json()["error"]["code"] == "invalid_input"
    )


def test_batch_scoring_fetches_the_model_from_the_server(server: Server, tmp_path: Path) -> None:
    frame = make_frame(200, 3)
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    result = server.serving().predict_batch(
        "fraud@production", tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_size=64
    )
    assert (result.rows, result.model_version) == (200, "fraud:1")
    model = server.workspace("ed").models.load("fraud@production")
    np.testing.assert_array_equal(
        pq.read_table(result.output).column("prediction").to_numpy(), model.predict(frame[FEATURES])
    )
