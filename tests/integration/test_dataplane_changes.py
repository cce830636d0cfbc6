"""The data plane while traffic is split and things change: route proportions and stickiness,
shadows, live spec and alias changes under load, a model that fails to load, and the
prediction log after a graceful shutdown of a real ``shipyard serve`` process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scipy.stats import binomtest

from shipyard.models.uris import parse_model_uri
from shipyard.workspace import Workspace
from tests.conftest import free_port
from tests.integration.dataplane_support import (
    breast_cancer,
    expected,
    log_model,
    new_workspace,
    register_models,
    row,
    running_plane,
    wait_for,
)

FRAME = breast_cancer()
ALPHA = 1e-4


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = new_workspace(tmp_path_factory.mktemp("dataplane-changes"))
    register_models(ws, FRAME)
    yield ws
    ws.close()


def _predict(client: httpx.Client, name: str, **kwargs: Any) -> httpx.Response:
    return client.post(f"/v1/deployments/{name}/predict", json={"instances": [row(FRAME)]}, **kwargs)


# -- routing -----------------------------------------------------------------------------------
def test_canary_share_and_stickiness(workspace: Workspace) -> None:
    workspace.serving.deploy("split", model="bc:1", canary="bc:2=20%")
    keys = [uuid.uuid4().hex for _ in range(600)]
    with running_plane(workspace, names=["split"]) as plane, plane.client() as client:
        routes = [_predict(client, "split", headers={"X-Routing-Key": k}).json()["route"] for k in keys]
        unkeyed = [_predict(client, "split").json()["route"] for _ in range(400)]
        again = [_predict(client, "split", headers={"X-Routing-Key": k}).json()["route"] for k in keys[:100]]
    assert binomtest(routes.count("canary"), len(routes), 0.2).pvalue > ALPHA
    assert binomtest(unkeyed.count("canary"), len(unkeyed), 0.2).pvalue > ALPHA
    assert again == routes[:100]  # the same key, the same route


def test_ab_routes_by_a_field_of_the_body(workspace: Workspace) -> None:
    workspace.serving.deploy("ab", ab="bc:1=50%,bc:3=50%", routing_key="customer")
    with running_plane(workspace, names=["ab"]) as plane, plane.client() as client:

        def version(customer: int) -> str:
            body = {"instances": [{**row(FRAME), "customer": customer}]}
            answer = client.post("/v1/deployments/ab/predict", json=body)
            assert answer.status_code == 200, answer.text
            return str(answer.json()["model_version"])

        first = [version(c) for c in range(400)]
        second = [version(c) for c in range(100)]
    assert set(first) == {"bc:1", "bc:3"}
    assert binomtest(first.count("bc:3"), len(first), 0.5).pvalue > ALPHA
    assert second == first[:100]


def test_shadow_outputs_are_logged_and_never_returned(workspace: Workspace) -> None:
    workspace.serving.deploy("shadowed", model="bc:1", shadow="bc:3")
    rows = [row(FRAME, i) for i in range(30)]
    with running_plane(workspace, names=["shadowed"]) as plane, plane.client() as client:
        answers = [
            client.post("/v1/deployments/shadowed/predict", json={"instances": [r]}).json() for r in rows
        ]
    # leaving the block shut the plane down gracefully: shadow queue drained, log flushed
    assert {a["model_version"] for a in answers} == {"bc:1"} and {a["route"] for a in answers} == {"primary"}
    log = workspace.serving.predictions("shadowed", with_labels=False)
    ids = [a["request_id"] for a in answers]
    primary, shadow = log[~log["shadow"]], log[log["shadow"]]
    assert sorted(primary["request_id"]) == sorted(ids) and set(primary["model_version"]) == {"bc:1"}
    assert sorted(shadow["request_id"]) == sorted(ids) and set(shadow["model_version"]) == {"bc:3"}
    by_id = dict(zip(shadow["request_id"], shadow["prediction"], strict=True))
    assert [by_id[i] for i in ids] == expected(workspace, 3, rows)


# -- live changes ------------------------------------------------------------------------------
class Load:
    """Threads sending requests until stopped, recording every outcome."""

    def __init__(self, url: str, name: str, threads: int = 4) -> None:
        self.url, self.name = url, name
        self.outcomes: list[tuple[float, int, str]] = []  # (time, status or -1, model_version)
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._send) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _send(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            while not self.stop.is_set():
                try:
                    answer = _predict(client, self.name)
                    outcome = (time.monotonic(), answer.status_code, answer.json().get("model_version", ""))
                    if answer.status_code != 200:
                        self.failures.append(answer.text)
                except httpx.HTTPError as exc:
                    outcome = (time.monotonic(), -1, "")
                    self.failures.append(repr(exc))
                with self.lock:
                    self.outcomes.append(outcome)

    def versions_since(self, since: float) -> Counter[str]:
        with self.lock:
            return Counter(v for t, _, v in self.outcomes if t > since)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def test_spec_and_alias_changes_under_load_fail_no_request(workspace: Workspace) -> None:
    workspace.registry.promote("bc", 1, "production")
    workspace.serving.deploy("hot", model="bc@production", canary="bc:2=10%")
    with running_plane(workspace, names=["hot"]) as plane:
        load = Load(plane.url, "hot")
        try:
            wait_for(lambda: load.versions_since(0)["bc:1"] > 20)
            changed = time.monotonic()
            workspace.serving.set_weight("hot", "canary", 60)
            wait_for(lambda: _mostly(load.versions_since(changed + 2.5), "bc:2"))
            changed = time.monotonic()
            workspace.registry.promote("bc", 3, "production")  # the primary follows the alias
            wait_for(lambda: load.versions_since(changed)["bc:3"] > 20)
            changed = time.monotonic()
            workspace.serving.deploy("hot", model="bc:2")  # a new spec: one route
            wait_for(lambda: set(load.versions_since(time.monotonic() - 0.5)) == {"bc:2"})
        finally:
            load.finish()
    assert load.failures == []
    assert len(load.outcomes) > 100 and {s for _, s, _ in load.outcomes} == {200}


def _mostly(versions: Counter[str], version: str) -> bool:
    total = sum(versions.values())
    return total >= 50 and versions[version] / total > 0.4


def test_a_model_that_fails_to_load_leaves_the_previous_one_serving(workspace: Workspace) -> None:
    uri = log_model(workspace, FRAME, named=False, c=0.3)
    broken = workspace.registry.register("bc", uri).version
    ref = parse_model_uri(uri)
    artifacts = workspace.tracking.list_artifacts(str(ref.run_id))
    workspace.content.delete(next(a.digest for a in artifacts if a.path == f"{ref.path}/model.skops"))
    workspace.serving.deploy("fragile", model="bc:1")
    with running_plane(workspace, names=["fragile"]) as plane, plane.client() as client:
        assert _predict(client, "fragile").json()["model_version"] == "bc:1"
        workspace.serving.deploy("fragile", model=f"bc:{broken}")
        status = wait_for(lambda: _failed(workspace, "fragile"))
        answers = [_predict(client, "fragile") for _ in range(20)]
        health = client.get("/healthz").json()
    assert status.model_version == f"bc:{broken}" and f"bc:{broken}" in (status.error or "")
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["model_version"] for a in answers} == {"bc:1"}
    assert health["deployments"]["fragile"]["routes"][0]["model_version"] == "bc:1"


def _failed(workspace: Workspace, name: str) -> Any:
    status = workspace.serving.get(name).statuses.get("primary")
    return status if status is not None and status.state == "failed" else None


def test_undeployed_deployments_leave_the_plane(workspace: Workspace) -> None:
    workspace.serving.deploy("brief", model="bc:1")
    with running_plane(workspace) as plane, plane.client() as client:  # every deployment
        assert _predict(client, "brief").status_code == 200
        workspace.serving.undeploy("brief")
        wait_for(lambda: _predict(client, "brief").status_code == 404)
        workspace.serving.deploy("late", model="bc:3")
        answer = wait_for(lambda: (a := _predict(client, "late")).status_code == 200 and a)
    assert answer.json()["model_version"] == "bc:3"


# -- graceful shutdown of a real process ------------------------------------------------------
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_every_answered_request_is_logged_after_a_graceful_shutdown(
    workspace: Workspace, stop: signal.Signals
) -> None:
    name = f"durable-{stop.name.lower()}"
    workspace.serving.deploy(name, model="bc:1", shadow="bc:3")
    port = free_port()
    settings = workspace.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(
        SHIPYARD_HOME=str(settings.home),
        SHIPYARD_URI=settings.uri,
        SHIPYARD_ARTIFACTS_URI=settings.artifacts_uri,
        SHIPYARD_CAPTURE_PACKAGES="false",
    )
    log_path = Path(settings.home) / f"serve-{port}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard.cli.entry", "serve", name, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), timeout=120, every=0.2)
        answered: list[str] = []

        def send() -> None:
            with httpx.Client(base_url=url, timeout=30.0) as client:
                while True:
                    try:
                        answer = _predict(client, name)
                    except httpx.HTTPError:
                        return  # the server stopped accepting
                    if answer.status_code != 200:
                        return
                    answered.append(answer.json()["request_id"])

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(answered) > 200)
        proc.send_signal(stop)
        for thread in threads:
            thread.join(60)
        assert proc.wait(60) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = workspace.serving.predictions(name, with_labels=False)
    assert set(answered) <= set(log.loc[~log["shadow"], "request_id"])
    assert len(log[~log["shadow"]]) == len(answered)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v2/health/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
