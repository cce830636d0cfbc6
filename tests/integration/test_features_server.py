"""Online features over HTTP: the fast path answers as the full FastAPI stack would.

``POST /api/v1/features/online`` is answered ahead of FastAPI's layers; these tests hold
it to the behaviour of every other route: roles and tokens, JSON errors naming the
problem, a body sent in chunks, the other methods on the path, and the same answers
when the fast path stands aside (middleware added).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from starlette.middleware.base import BaseHTTPMiddleware

from shipyard.core.config import load_settings
from shipyard.features.models import Entity, FeatureView
from shipyard.server.app import create_app
from shipyard.workspace import Workspace
from tests.contract.server_process import running_server

PATH = "/api/v1/features/online"
AT = datetime(2024, 1, 1, tzinfo=UTC)
GOOD = {"entity_rows": [{"user_id": 7}, {"user_id": 9}], "features": ["stats:avg", "stats:name"]}
ANSWER = {"columns": {"user_id": [7, 9], "avg": [1.5, None], "name": ["a", None]}}
BAD: list[tuple[Any, int, str]] = [
    ({"entity_rows": [{"user_id": 7}], "features": ["nope:x"]}, 404, "unknown feature view"),
    ({"entity_rows": [{"user_id": 7}], "features": ["stats:nope"]}, 404, "has no feature 'nope'"),
    ({"entity_rows": [], "features": ["stats:avg"]}, 400, "non-empty list"),
    ({"entity_rows": [{"id": 7}], "features": ["stats:avg"]}, 400, "no join key 'user_id'"),
    ({"entity_rows": [{"user_id": 7}]}, 400, "either"),
    ({"entity_rows": [{"user_id": 7}], "features": "stats:avg"}, 400, '"features" must be a list'),
    ({"entity_rows": [{"user_id": 7}], "features": ["stats:avg"], "limit": 3}, 400, "unknown field 'limit'"),
    ([1, 2], 400, "send a JSON object"),
]


@dataclass
class Home:
    folder: Path
    uri: str
    tokens: dict[str, str]  # role -> secret

    def workspace(self) -> Workspace:
        folder = self.folder
        return Workspace(
            load_settings({}, home=str(folder / "home"), uri=self.uri, artifacts_uri=str(folder / "art"))
        )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home whose online store holds user 7 (user 9 has no row)."""
    folder = tmp_path_factory.mktemp("features-http")
    rows = pd.DataFrame({"user_id": [7], "event_time": [AT], "avg": [1.5], "name": ["a"]})
    rows.to_parquet(folder / "t.parquet", index=False)
    stats = FeatureView(
        name="stats", entities=[Entity("user", ["user_id"])], source=str(folder / "t.parquet"),
        timestamp_field="event_time", features={"avg": "float", "name": "string"},
    )  # fmt: skip
    uri = f"sqlite:///{folder / 'meta.db'}"
    workspace = Home(folder, uri, {}).workspace()
    workspace.features.apply([stats])
    workspace.features.materialize(end=AT + timedelta(days=1))
    tokens = {role: workspace.auth.create_token(f"user-{role}", role)[1] for role in ("viewer", "editor")}
    workspace.close()
    return Home(folder, uri, tokens)


@pytest.fixture(scope="module")
def open_url(home: Home) -> Iterator[str]:
    """Loopback, auth off."""
    with running_server(home.uri, home.folder / "art", home.folder / "home") as url:
        yield url


@pytest.fixture(scope="module")
def auth_url(home: Home) -> Iterator[str]:
    """Loopback with ``--auth``."""
    with running_server(home.uri, home.folder / "art", home.folder / "home", auth=True) as url:
        yield url


def _error(response: httpx.Response, status: int, code: str, words: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"], error


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_read_and_every_bad_request_answer_in_json(open_url: str) -> None:
    with httpx.Client(base_url=open_url, timeout=30.0) as client:
        answer = client.post(PATH, json=GOOD)
        assert answer.status_code == 200 and answer.json() == ANSWER
        assert answer.headers["content-type"] == "application/json"
        assert int(answer.headers["content-length"]) == len(answer.content)
        for body, status, words in BAD:
            code = "not_found" if status == 404 else "invalid_input"
            _error(client.post(PATH, json=body), status, code, words)
        _error(client.post(PATH, content=b"{"), 400, "invalid_input", "not JSON")
        _error(client.get(PATH), 405, "invalid_input", "method GET is not allowed")
        _error(client.post(PATH + "/more", json=GOOD), 404, "not_found", "no such endpoint")


def test_a_body_sent_in_chunks_is_read_whole(open_url: str) -> None:
    raw = httpx.Request("POST", "/", json=GOOD).content

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(raw), 7):
            yield raw[start : start + 7]

    with httpx.Client(base_url=open_url, timeout=30.0) as client:
        answer = client.post(PATH, content=pieces(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json() == ANSWER


def test_a_token_that_is_sent_is_checked_even_without_auth(open_url: str, home: Home) -> None:
    with httpx.Client(base_url=open_url, timeout=30.0) as client:
        assert client.post(PATH, json=GOOD, headers=_bearer(home.tokens["viewer"])).json() == ANSWER
        _error(client.post(PATH, json=GOOD, headers=_bearer("nope")), 401, "authentication_required")
        malformed = client.post(PATH, json=GOOD, headers={"Authorization": "Basic abc"})
        _error(malformed, 401, "authentication_required", "malformed Authorization header")


def test_with_auth_a_viewer_reads_and_nobody_else(auth_url: str, home: Home) -> None:
    with httpx.Client(base_url=auth_url, timeout=30.0) as client:
        _error(client.post(PATH, json=GOOD), 401, "authentication_required")
        _error(client.post(PATH, json=GOOD, headers=_bearer("nope")), 401, "authentication_required")
        for role in ("viewer", "editor"):
            answer = client.post(PATH, json=GOOD, headers=_bearer(home.tokens[role]))
            assert answer.status_code == 200 and answer.json() == ANSWER, answer.text


def test_the_full_stack_gives_the_same_answers(home: Home) -> None:
    """With middleware the fast path stands aside and the routed request answers the same."""
    workspace = home.workspace()
    try:
        fast, full = create_app(workspace, require_auth=True), create_app(workspace, require_auth=True)
        seen: list[str] = []

        async def note(request: Any, call_next: Any) -> Any:
            seen.append(request.url.path)
            return await call_next(request)

        full.add_middleware(BaseHTTPMiddleware, dispatch=note)
        viewer = _bearer(home.tokens["viewer"])
        requests: list[dict[str, Any]] = [
            {"json": GOOD, "headers": viewer},
            {"json": GOOD},
            {"json": GOOD, "headers": {"Authorization": "Bearer"}},
            {"content": b"{", "headers": viewer},
            *({"json": body, "headers": viewer} for body, _, _ in BAD),
        ]

        async def ask(app: Any) -> list[tuple[int, Any]]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                answers = [await client.post(PATH, **request) for request in requests]
            return [(a.status_code, a.json()) for a in answers]

        assert asyncio.run(ask(fast)) == asyncio.run(ask(full))
        assert seen == [PATH] * len(requests), "the middleware saw every request"
    finally:
        workspace.close()
