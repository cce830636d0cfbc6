"""The serving data plane over real HTTP: /v1 predict, bad inputs, the V2 protocol, feedback,
metrics, micro-batching and online features.

One workspace per module (model ``bc``, see :mod:`tests.integration.dataplane_support`) and
one data plane per test, served by uvicorn in a thread; each test uses its own deployment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipyard.workspace import Workspace
from tests.integration.dataplane_support import (
    breast_cancer,
    columns,
    expected,
    new_workspace,
    register_models,
    row,
    running_plane,
)

FRAME = breast_cancer()
COLUMNS = columns(FRAME)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = new_workspace(tmp_path_factory.mktemp("dataplane"))
    register_models(ws, FRAME)
    ws.serving.deploy("plain", model="bc:1")
    ws.serving.deploy("named", model="bc:2")
    yield ws
    ws.close()


def _post(client: Any, name: str, body: Any, **kwargs: Any) -> Any:
    return client.post(f"/v1/deployments/{name}/predict", json=body, **kwargs)


# -- /v1 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("deployment", "version"), [("plain", 1), ("named", 2)])
def test_predictions_match_the_model(workspace: Workspace, deployment: str, version: int) -> None:
    rows = [row(FRAME, i) for i in (0, 20, 40)]
    with running_plane(workspace, names=[deployment]) as plane, plane.client() as client:
        by_rows = _post(client, deployment, {"instances": rows, "return_proba": True})
        by_columns = _post(client, deployment, {"inputs": {c: [r[c] for r in rows] for c in COLUMNS}})
        by_arrays = _post(client, deployment, {"instances": [[r[c] for c in COLUMNS] for r in rows]})
    want = expected(workspace, version, rows)
    for answer in (by_rows, by_columns, by_arrays):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["predictions"] == want
        assert body["model_version"] == f"bc:{version}" and body["route"] == "primary"
        assert body["request_id"] == answer.headers["x-request-id"]
    probabilities = by_rows.json()["probabilities"]
    assert len(probabilities) == 3 and all(abs(sum(p) - 1.0) < 1e-9 for p in probabilities)
    assert "probabilities" not in by_columns.json()


def test_the_callers_request_id_is_kept(workspace: Workspace) -> None:
    with running_plane(workspace, names=["plain"]) as plane, plane.client() as client:
        answer = _post(client, "plain", {"instances": [row(FRAME)]}, headers={"X-Request-ID": "order-42"})
        refused = _post(client, "plain", {"instances": [{}]}, headers={"X-Request-ID": "order-43"})
        invented = _post(client, "plain", {"instances": [row(FRAME)]}, headers={"X-Request-ID": "x" * 500})
    assert answer.headers["x-request-id"] == answer.json()["request_id"] == "order-42"
    assert refused.headers["x-request-id"] == refused.json()["request_id"] == "order-43"
    assert len(invented.json()["request_id"]) == 32  # too long to keep: a new one


def test_a_missing_or_mistyped_column_is_named(workspace: Workspace) -> None:
    bad = row(FRAME)
    del bad["mean_radius"]
    bad["mean_texture"] = "thick"
    with running_plane(workspace, names=["plain"]) as plane, plane.client() as client:
        answer = _post(client, "plain", {"instances": [bad]})
        as_int = _post(client, "plain", {"instances": [{**row(FRAME), "mean_area": True}]})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert "'mean_radius'" in error["message"] and "'mean_texture'" in error["message"]
    assert error["details"]["missing"] == ["mean_radius"]
    assert error["details"]["mistyped"] == {"mean_texture": {"expected": "float", "got": "string"}}
    assert as_int.status_code == 422 and "'mean_area'" in as_int.json()["error"]["message"]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"[1, 2]", b'{"rows": []}', b'{"instances": []}', b'{"inputs": {"a": [1], "b": []}}'],
)
def test_malformed_bodies_are_400(workspace: Workspace, content: bytes) -> None:
    with running_plane(workspace, names=["plain"]) as plane, plane.client() as client:
        answer = client.post("/v1/deployments/plain/predict", content=content)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_input"


def test_bodies_over_the_limit_are_413(workspace: Workspace) -> None:
    big = {"instances": [row(FRAME)] * 200}  # about 150 kB
    with running_plane(workspace, names=["plain"], max_body_bytes=64 * 1024) as plane, plane.client() as c:
        declared = _post(c, "plain", big)
        chunked = c.post(  # no Content-Length: counted while reading
            "/v1/deployments/plain/predict", content=iter([b'{"instances": [', b" " * 70_000, b"]}"])
        )
        small = _post(c, "plain", {"instances": [row(FRAME)]})
    assert declared.status_code == 413 and chunked.status_code == 413
    assert small.status_code == 200


def test_unknown_deployments_are_404(workspace: Workspace) -> None:
    with running_plane(workspace, names=["plain"]) as plane, plane.client() as client:
        answer = _post(client, "nowhere", {"instances": [row(FRAME)]})
        v2 = client.get("/v2/models/nowhere")
    assert answer.status_code == 404 and "nowhere" in answer.json()["error"]["message"]
    assert v2.status_code == 404 and isinstance(v2.json()["error"], str)


def test_proba_of_a_model_without_it_is_400(workspace: Workspace, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    run = workspace.tracking.create_run("dataplane-tests")
    features = FRAME[COLUMNS]
    uri = workspace.models.log_model(
        run.id, LinearRegression().fit(features.to_numpy(), FRAME["target"]), input_example=features.head()
    )
    workspace.registry.register("bc-reg", uri)
    workspace.serving.deploy("reg", model="bc-reg:1")
    with running_plane(workspace, names=["reg"]) as plane, plane.client() as client:
        plain = _post(client, "reg", {"instances": [row(FRAME)]})
        proba = _post(client, "reg", {"instances": [row(FRAME)], "return_proba": True})
    assert plain.status_code == 200 and isinstance(plain.json()["predictions"][0], float)
    assert proba.status_code == 400 and "not a classifier" in proba.json()["error"]["message"]


# -- V2 -----------------------------------------------------------------------------------------
def _tensors(rows: list[dict[str, float]]) -> list[dict[str, Any]]:
    return [
        {"name": c, "shape": [len(rows)], "datatype": "FP64", "data": [r[c] for r in rows]} for c in COLUMNS
    ]


def test_v2_health_and_metadata(workspace: Workspace) -> None:
    with running_plane(workspace, names=["plain"]) as plane, plane.client() as client:
        live, ready = client.get("/v2/health/live"), client.get("/v2/health/ready")
        server = client.get("/v2").json()
        meta = client.get("/v2/models/plain")
        meta_v = client.get("/v2/models/plain/versions/1")
        model_ready = client.get("/v2/models/plain/ready")
        wrong_version = client.get("/v2/models/plain/versions/9")
    assert live.json() == {"live": True} and ready.json() == {"ready": True}
    assert server["name"] == "shipyard" and "version" in server
    body = meta.json()
    assert meta.status_code == 200 and meta_v.json() == body
    assert body["name"] == "plain" and body["versions"] == ["1"] and body["platform"] == "shipyard-sklearn"
    assert [i["name"] for i in body["inputs"]] == COLUMNS
    assert {i["datatype"] for i in body["inputs"]} == {"FP64"} and body["inputs"][0]["shape"] == [-1]
    assert body["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]},
    ]
    assert model_ready.json() == {"name": "plain", "ready": True}
    assert wrong_version.status_code == 404 and "error" in wrong_version.json()


def test_v2_infer_conforms(workspace: Workspace) -> None:
    rows = [row(FRAME, i) for i in (1, 2)]
    want = expected(workspace, 1, rows)
    request = {"id": "req-1", "inputs": _tensors(rows)}
    with running_plane(workspace, names=["plain"]) as plane, plane.client() as client:
        answer = client.post("/v2/models/plain/infer", json=request)
        both = client.post(
            "/v2/models/plain/versions/1/infer",
            json={**request, "outputs": [{"name": "predict"}, {"name": "predict_proba"}]},
        )
        matrix = client.post(
            "/v2/models/plain/infer",
            json={
                "inputs": [
                    {"name": "input-0", "shape": [2, len(COLUMNS)], "datatype": "FP64",
                     "data": [[r[c] for c in COLUMNS] for r in rows]}
                ]
            },
        )  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == "req-1" and body["model_name"] == "plain" and body["model_version"] == "1"
    assert body["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [2], "data": want}]
    assert body["parameters"]["request_id"] == answer.headers["x-request-id"]
    proba = both.json()["outputs"][1]
    assert proba["name"] == "predict_proba" and proba["shape"] == [2, 2] and len(proba["data"]) == 4
    assert matrix.json()["outputs"][0]["data"] == want
    assert matrix.json()["id"] == matrix.headers["x-request-id"]  # no id sent: the request id


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        (lambda r: {**r, "inputs": r["inputs"][1:]}, 422, "'mean_radius'"),
        (lambda r: {**r, "inputs": [{**r["inputs"][0], "datatype": "FP99"}, *r["inputs"][1:]]}, 400, "FP99"),
        (lambda r: {**r, "inputs": [{**r["inputs"][0], "shape": [3]}, *r["inputs"][1:]]}, 400, "shape"),
        (lambda r: {**r, "outputs": [{"name": "explain"}]}, 400, "explain"),
        (lambda r: {"inputs": "nope"}, 400, "inputs"),
    ],
)
def test_v2_errors_are_plain_messages(workspace: Workspace, change: Any, status: int, words: str) -> None:
    request = change({"inputs": _tensors([row(FRAME)])})
    with running_plane(workspace, names=["plain"]) as plane, plane.client() as client:
        answer = client.post("/v2/models/plain/infer", json=request)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert isinstance(error, str) and words in error


# -- feedback, metrics, batching --------------------------------------------------------------
def test_feedback_attaches_labels(workspace: Workspace) -> None:
    with running_plane(workspace, names=["plain"]) as plane, plane.client() as client:
        first = _post(client, "plain", {"instances": [row(FRAME)]}).json()["request_id"]
        second = _post(client, "plain", {"instances": [row(FRAME, 1)]}).json()["request_id"]
        one = client.post("/v1/deployments/plain/feedback", json={"request_id": first, "label": 1})
        many = client.post(
            "/v1/deployments/plain/feedback",
            json=[{"request_id": second, "label": 0}, {"request_id": "never-seen", "label": 1}],
        )
        bad = client.post("/v1/deployments/plain/feedback", json={"label": 1})
    assert one.status_code == 200 and one.json()["accepted"] == 1
    assert many.json()["accepted"] == 1 and many.json()["unknown"] == ["never-seen"]
    assert bad.status_code == 400
    log = workspace.serving.predictions("plain")
    labels = dict(zip(log["request_id"], log["label"], strict=True))
    assert labels[first] == 1 and labels[second] == 0


def test_metrics_count_requests_errors_and_batches(workspace: Workspace) -> None:
    workspace.serving.deploy("batched", model="bc:1", batching={"max_batch_size": 16, "max_wait_ms": 5})
    with running_plane(workspace, names=["batched"]) as plane, plane.client() as client:
        _post(client, "batched", {"instances": [row(FRAME)]})
        _post(client, "batched", {"instances": [{}]})
        text = client.get("/metrics").text
        health = client.get("/healthz").json()
    labels = 'deployment="batched",model_version="bc:1"'
    assert f'shipyard_serving_requests_total{{{labels},route="primary"}} 1.0' in text
    assert 'shipyard_serving_errors_total{deployment="batched",status="422"} 1.0' in text
    assert f"shipyard_serving_request_duration_seconds_count{{{labels}}} 1.0" in text
    assert 'shipyard_serving_batch_size_count{deployment="batched",route="primary"} 1.0' in text
    assert health["deployments"]["batched"]["routes"][0]["model_version"] == "bc:1"


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(workspace: Workspace) -> None:
    workspace.serving.deploy("coalesced", model="bc:2", batching={"max_batch_size": 32, "max_wait_ms": 20})
    rows = [row(FRAME, i) for i in range(40)]
    want = expected(workspace, 2, rows)
    got: dict[int, Any] = {}
    with running_plane(workspace, names=["coalesced"]) as plane:

        def send(indexes: range) -> None:
            with plane.client() as client:
                for i in indexes:
                    got[i] = _post(client, "coalesced", {"instances": [rows[i]]}).json()["predictions"]

        threads = [threading.Thread(target=send, args=(range(k, 40, 8),)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with plane.client() as client:
            text = client.get("/metrics").text
    assert [got[i] for i in range(40)] == [[w] for w in want]
    count = _metric(text, 'shipyard_serving_batch_size_count{deployment="coalesced",route="primary"}')
    assert count < 40  # some requests shared a model call


def _metric(text: str, series: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(series))
    return float(line.rsplit(" ", 1)[1])


# -- online features -------------------------------------------------------------------------
def ratio_of_amount(df: pd.DataFrame) -> dict[str, Any]:
    return {"ratio": df["amount"] / df["avg"]}


def test_a_feature_backed_deployment_reads_online_features(workspace: Workspace, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from shipyard.features.models import Entity, FeatureService, FeatureView, on_demand

    source = tmp_path / "stats.parquet"
    now = pd.Timestamp.now(tz="UTC").floor("s")
    pd.DataFrame(
        {"user_id": [1, 2], "event_time": [now - pd.Timedelta(minutes=5)] * 2, "avg": [10.0, 40.0]}
    ).to_parquet(source, index=False)
    user = Entity(name="user", join_keys=["user_id"])
    view = FeatureView(
        name="user_stats",
        entities=[user],
        source=str(source),
        features={"avg": "float"},
        timestamp_field="event_time",
    )
    ratio = on_demand(inputs=["user_stats:avg", "amount"], outputs={"ratio": "float"})(ratio_of_amount)
    workspace.features.apply([user, view, ratio, FeatureService(name="scoring", features=[view, ratio])])
    workspace.features.materialize()
    train = pd.DataFrame({"amount": [1.0, 5.0, 50.0, 90.0], "avg": [10.0, 40.0, 10.0, 40.0]})
    train["ratio"] = train["amount"] / train["avg"]
    model = LogisticRegression().fit(train[["amount", "avg", "ratio"]].to_numpy(), [0, 0, 1, 1])
    run = workspace.tracking.create_run("dataplane-tests")
    uri = workspace.models.log_model(run.id, model, input_example=train[["amount", "avg", "ratio"]])
    workspace.registry.register("scorer", uri)
    workspace.serving.deploy("scored", model="scorer:1", features="scoring")
    requests = [{"user_id": 1, "amount": 30.0}, {"user_id": 2, "amount": 30.0}]
    with running_plane(workspace, names=["scored"]) as plane, plane.client() as client:
        answer = _post(client, "scored", {"instances": requests})
        unknown_key = _post(client, "scored", {"instances": [{"amount": 3.0}]})
    want = model.predict([[30.0, 10.0, 3.0], [30.0, 40.0, 0.75]]).tolist()
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == want
    assert unknown_key.status_code == 400 and "user_id" in unknown_key.json()["error"]["message"]
    logged = workspace.serving.predictions("scored", with_labels=False)
    assert sorted(logged["status"]) == [200, 200, 400]  # the refused request is logged too
    logged = logged[logged["error"].isna()]
    assert sorted(logged["input.avg"]) == [10.0, 40.0]  # the model's inputs, features included


# -- failed requests in the prediction log ---------------------------------------------------
class FailsOnNegativeRadius:
    """A model that answers 1, and fails (like a model with a bug) on a negative mean_radius."""

    def predict(self, frame: pd.DataFrame) -> list[int]:
        if (frame["mean_radius"] < 0).any():
            raise ValueError("negative radius")
        return [1] * len(frame)


def test_failed_requests_are_logged_and_counted_by_error_rate(workspace: Workspace) -> None:
    import shipyard as sy

    run = workspace.tracking.create_run("dataplane-tests")
    features = FRAME[COLUMNS]
    uri = workspace.models.log_model(
        run.id, sy.pyfunc(FailsOnNegativeRadius()), input_example=features.head()
    )
    workspace.registry.register("bc-fragile", uri)
    workspace.serving.deploy("fragile", model="bc-fragile:1")
    good, broken = row(FRAME), {**row(FRAME), "mean_radius": -1.0}
    mistyped = {**row(FRAME), "mean_radius": "wide"}
    with running_plane(workspace, names=["fragile"], trust=True) as plane, plane.client() as client:
        answers = [_post(client, "fragile", {"instances": [r]}) for r in (good, good, good, broken, mistyped)]
    assert [a.status_code for a in answers] == [200, 200, 200, 500, 422]
    log = workspace.serving.predictions("fragile", with_labels=False).set_index("request_id")
    ids = [a.headers["x-request-id"] for a in answers]
    assert list(log.loc[ids, "status"]) == [200, 200, 200, 500, 422]
    assert log.loc[ids[:3], "error"].isna().all()
    assert "negative radius" in log.loc[ids[3], "error"] and "mean_radius" in log.loc[ids[4], "error"]
    assert log.loc[ids[3], "model_version"] == "bc-fragile:1" and pd.isna(log.loc[ids[3], "prediction"])
    # the answered rows keep their typed input column although a mistyped request shares the segment
    assert log.loc[ids[:3], "input.mean_radius"].tolist() == [good["mean_radius"]] * 3
    monitor = workspace.monitors.create(
        "fragile-errors", "fragile", window="1h", checks=[sy.checks.error_rate(max=0.1, warning=0.05)]
    )
    result = workspace.monitors.run(monitor.name)
    outcome = result.check("error_rate")
    assert result.n_predictions == 5 and outcome is not None
    assert outcome.value == pytest.approx(1 / 5)  # the 500 counts, the refused input does not
    assert outcome.status == "critical"  # 0.2 is past the 0.1 limit
