"""The server's edges, over real HTTP to real server processes on SQLite.

Paths that could escape, roles, tokens beyond loopback, unknown ids, malformed
filters and non-finite metrics: every refusal is a JSON error body with a code.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shipyard.core.config import load_settings
from shipyard.core.errors import NotFoundError, PermissionDenied
from shipyard.storage.digests import digest_bytes
from shipyard.tracking.service import TrackingService
from shipyard.tracking.store.rest import RestTrackingStore
from shipyard.workspace import Workspace
from tests.contract.server_process import running_server

TRAVERSALS = ["../x", "/etc/passwd", "C:\\x", "a\\b", "%2e%2e/x", "%252e%252e", "a/\x00/b", "a/../../b"]


@dataclass
class Server:
    url: str
    tokens: dict[str, str]  # role -> secret


def _workspace(folder: Path) -> Workspace:
    settings = load_settings(
        home=str(folder / "home"),
        uri=f"sqlite:///{folder / 'meta.db'}",
        artifacts_uri=str(folder / "artifacts"),
    )
    return Workspace(settings)


def _start(folder: Path, **options: object) -> Iterator[Server]:
    workspace = _workspace(folder)
    tokens = {
        role: workspace.auth.create_token(f"user-{role}", role)[1] for role in ("viewer", "editor", "admin")
    }
    workspace.close()
    with running_server(workspace.settings.uri, folder / "artifacts", folder / "home", **options) as url:  # type: ignore[arg-type]
        yield Server(url, tokens)


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Loopback, auth off."""
    yield from _start(tmp_path_factory.mktemp("open"))


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Loopback with ``--auth``."""
    yield from _start(tmp_path_factory.mktemp("auth"), auth=True)


@pytest.fixture(scope="module")
def public_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Listening on 0.0.0.0 (reached through 127.0.0.1): auth is forced on."""
    yield from _start(tmp_path_factory.mktemp("public"), host="0.0.0.0")


def _client(server: Server, role: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.tokens[role]}"} if role else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30.0)


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert "Traceback" not in error["message"]
    return str(error["message"])


def _run_with_artifact(client: httpx.Client) -> str:
    run = client.post("/api/v1/runs", json={"experiment": "security", "name": "r"}).json()
    data = b"weights"
    digest = digest_bytes(data)
    assert client.put(f"/api/v1/blobs/{digest}", content=data).status_code == 201
    logged = client.post(
        f"/api/v1/runs/{run['id']}/artifacts",
        json={"artifacts": [{"path": "model/w.bin", "digest": digest, "size": len(data)}]},
    )
    assert logged.status_code == 204, logged.text
    return str(run["id"])


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_paths_are_refused_with_400(open_server: Server, path: str) -> None:
    with _client(open_server) as client:
        run_id = _run_with_artifact(client)
        message = _error(
            client.get(f"/api/v1/runs/{run_id}/artifact", params={"path": path}), 400, "invalid_input"
        )
        assert "artifact path" in message
        record = {"path": path, "digest": digest_bytes(b"x"), "size": 1}
        _error(
            client.post(f"/api/v1/runs/{run_id}/artifacts", json={"artifacts": [record]}),
            400,
            "invalid_input",
        )


@pytest.mark.parametrize("raw", ["%2e%2e/x", "%252e%252e/x", "a/%00/b", "%2F%2Fetc/passwd", "a%5cb"])
def test_encoded_traversal_in_the_url_is_refused_with_400(open_server: Server, raw: str) -> None:
    with _client(open_server) as client:
        run_id = _run_with_artifact(client)
        response = client.get(f"{open_server.url}/api/v1/runs/{run_id}/artifacts/{raw}")
        _error(response, 400, "invalid_input")


def test_artifact_content_by_logical_path(open_server: Server) -> None:
    with _client(open_server) as client:
        run_id = _run_with_artifact(client)
        assert (
            client.get(f"/api/v1/runs/{run_id}/artifact", params={"path": "model/w.bin"}).content
            == b"weights"
        )
        assert client.get(f"/api/v1/runs/{run_id}/artifacts/model/w.bin").content == b"weights"
        _error(client.get(f"/api/v1/runs/{run_id}/artifact", params={"path": "nope"}), 404, "not_found")


def test_blob_upload_with_wrong_digest_is_refused(open_server: Server) -> None:
    with _client(open_server) as client:
        claimed = digest_bytes(b"something else")
        message = _error(client.put(f"/api/v1/blobs/{claimed}", content=b"payload"), 400, "invalid_input")
        assert "hashes to" in message
        assert client.head(f"/api/v1/blobs/{claimed}").status_code == 404
        _error(client.put("/api/v1/blobs/sha256:abc", content=b"x"), 400, "invalid_input")


def test_viewer_token_cannot_write(auth_server: Server) -> None:
    with _client(auth_server, "viewer") as viewer:
        message = _error(viewer.post("/api/v1/runs", json={"experiment": "e"}), 403, "permission_denied")
        assert "editor" in message
        assert viewer.get("/api/v1/experiments").status_code == 200
        assert viewer.post("/api/v1/runs/search", json={}).status_code == 200
        _error(viewer.get("/api/v1/tokens"), 403, "permission_denied")


def test_a_viewer_token_is_held_to_its_role_even_where_auth_is_optional(open_server: Server) -> None:
    with _client(open_server, "viewer") as viewer:
        _error(viewer.post("/api/v1/runs", json={"experiment": "e"}), 403, "permission_denied")
        assert viewer.get("/api/v1/experiments").status_code == 200
    with _client(open_server) as anonymous:
        assert anonymous.post("/api/v1/runs", json={"experiment": "e"}).status_code in (200, 201)


def test_auth_flag_on_loopback_requires_a_token(auth_server: Server) -> None:
    with _client(auth_server) as anonymous:
        _error(anonymous.get("/api/v1/experiments"), 401, "authentication_required")
        assert anonymous.get("/api/v1/health").status_code == 200
    with httpx.Client(base_url=auth_server.url, headers={"Authorization": "Bearer shp_wrong"}) as wrong:
        _error(wrong.get("/api/v1/experiments"), 401, "authentication_required")
    with httpx.Client(base_url=auth_server.url, headers={"Authorization": "Basic abc"}) as basic:
        _error(basic.get("/api/v1/experiments"), 401, "authentication_required")


def test_server_beyond_loopback_demands_a_token(public_server: Server) -> None:
    with _client(public_server) as anonymous:
        _error(anonymous.post("/api/v1/runs", json={"experiment": "e"}), 401, "authentication_required")
        _error(anonymous.get("/api/v1/experiments"), 401, "authentication_required")
    with _client(public_server, "editor") as editor:
        created = editor.post("/api/v1/runs", json={"experiment": "e", "name": "ok"})
        assert created.status_code == 201, created.text


def test_audit_events_carry_the_token_user(auth_server: Server) -> None:
    with _client(auth_server, "editor") as editor:
        run_id = editor.post("/api/v1/runs", json={"experiment": "audited"}).json()["id"]
    with _client(auth_server, "admin") as admin:
        events = admin.get("/api/v1/audit/events").json()
        assert any(e["target"] == f"run:{run_id}" and e["actor"] == "user-editor" for e in events)
        assert admin.get("/api/v1/audit/verify").json()["ok"] is True
        assert admin.get("/api/v1/audit/events/last").json()["seq"] == events[-1]["seq"]


def test_rest_audit_append_records_the_token_user_at_server_time(auth_server: Server) -> None:
    from shipyard.governance.store.rest import RestAuditStore

    digest = "sha256:" + "0" * 64
    store = RestAuditStore(auth_server.url, token=auth_server.tokens["admin"])
    event = store.append(1, "someone-else", "model.promote", "model:m", digest)
    assert (event.actor, event.action, event.payload_digest) == ("user-admin", "model.promote", digest)
    assert event.time > 1 and store.last_event() == event
    store.close()
    editor = RestAuditStore(auth_server.url, token=auth_server.tokens["editor"])
    with pytest.raises(PermissionDenied):
        editor.append(1, "me", "x", "y", digest)
    editor.close()
    with _client(auth_server, "admin") as admin:
        body = {"actor": "a", "action": "x", "target": "y", "payload_digest": "sha256:0"}
        _error(admin.post("/api/v1/audit/events", json=body), 400, "invalid_input")


def test_unknown_run_is_404_json(open_server: Server) -> None:
    with _client(open_server) as client:
        message = _error(client.get(f"/api/v1/runs/{'0' * 32}"), 404, "not_found")
        assert "0" * 32 in message
        _error(client.get("/api/v1/no/such/route"), 404, "not_found")


def test_malformed_filter_points_at_the_token(open_server: Server) -> None:
    with _client(open_server) as client:
        response = client.post("/api/v1/runs/search", json={"filter": "metrics.auc >> 0.9"})
        message = _error(response, 400, "invalid_input")
        assert "position 12" in message and "'>>'" in message
        assert response.json()["error"]["details"]["token"] == ">>"
        bad_ast = {"filter": {"entity": "metrics", "key": "auc", "op": "~", "value": 1}}
        assert "filter.op" in _error(client.post("/api/v1/runs/search", json=bad_ast), 400, "invalid_input")


def test_malformed_body_names_the_field(open_server: Server) -> None:
    with _client(open_server) as client:
        run_id = client.post("/api/v1/runs", json={"experiment": "bodies"}).json()["id"]
        response = client.post(f"/api/v1/runs/{run_id}/metrics", json={"metrics": [["loss", "high", 0, 1]]})
        assert "body.metrics[0][1]" in _error(response, 400, "invalid_input")
        response = client.post(
            f"/api/v1/runs/{run_id}/params",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        _error(response, 400, "invalid_input")


def test_non_finite_metrics_round_trip(open_server: Server) -> None:
    store = RestTrackingStore(open_server.url)
    tracking = TrackingService(store)
    run = tracking.create_run("non-finite")
    values = [math.nan, math.inf, -math.inf, 1.5]
    tracking.log_metrics(run.id, [("x", v, i, i) for i, v in enumerate(values)])
    history = tracking.get_metric_history(run.id, "x")
    assert math.isnan(history.values[0]) and history.values[1:] == values[1:]
    assert tracking.get_run(run.id).metrics == {"x": 1.5}
    tracking.log_metrics(run.id, [("x", -math.inf, 9, 9)])
    assert tracking.get_run(run.id).metrics == {"x": -math.inf}
    store.close()


def test_rest_content_store_uploads_once_and_verifies(open_server: Server, tmp_path: Path) -> None:
    from shipyard.client.content import RestContentStore

    content = RestContentStore(open_server.url)
    source = tmp_path / "model.bin"
    source.write_bytes(b"\x00\x01" * 300_000)
    digest, size = content.put_file(source)
    assert (digest, size) == (digest_bytes(source.read_bytes()), 600_000)
    assert content.exists(digest) and content.put_file(source) == (digest, size)
    assert content.size(digest) == 600_000
    with pytest.raises(NotFoundError):
        content.size(digest_bytes(b"never uploaded"))
    assert content.get_bytes(content.put_bytes(b"small")) == b"small"
    content.get_file(digest, tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.bin", "model.bin"]  # no temp file left
    tracking = TrackingService(RestTrackingStore(open_server.url), content=content)  # type: ignore[arg-type]
    run = tracking.create_run("artifacts")
    tracking.log_artifact(run.id, source, "weights/model.bin")
    written = tracking.download_artifacts(run.id, tmp_path / "out")
    assert [p.read_bytes() for p in written] == [source.read_bytes()]
    tracking.store.close()
    content.close()
