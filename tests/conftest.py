"""Shared fixtures: homes, databases and the rule for real services.

A test that needs PostgreSQL, Redis or S3 skips with a reason when the service is
missing, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URI = os.environ.get(
    "SHIPYARD_TEST_POSTGRES_URI", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SHIPYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def service_missing(what: str, why: str) -> None:
    """Skip locally, fail under CI=true."""
    message = f"{what} is not available ({why})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it: start it before the tests (see .ci/run)")
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Shipyard home used by the SDK and CLI in this test."""
    folder = tmp_path / ".shipyard"
    for var in ("SHIPYARD_URI", "SHIPYARD_ARTIFACTS_URI", "SHIPYARD_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SHIPYARD_HOME", str(folder))
    monkeypatch.setenv("SHIPYARD_CAPTURE_PACKAGES", "false")
    monkeypatch.chdir(tmp_path)
    return folder


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'meta.db'}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the session, upgraded to the newest schema."""
    try:
        import psycopg
    except ImportError:
        service_missing("PostgreSQL", "psycopg is not installed: pip install shipyard[postgres]")
    admin = PG_ADMIN_URI.replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", f"{PG_ADMIN_URI}: {exc}")
    name = f"shipyard_test_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URI.rpartition("/")
    uri = f"{base}/{name}"
    from shipyard.db.engine import get_engine
    from shipyard.db.migrate import upgrade

    upgrade(get_engine(uri))
    try:
        yield uri
    finally:
        from shipyard.db.engine import dispose_engines

        dispose_engines()
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def postgres_uri(postgres_database: str) -> str:
    """The session database, emptied before this test."""
    import sqlalchemy as sa

    from shipyard.db.engine import get_engine
    from shipyard.db.tables import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with get_engine(postgres_database).begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return postgres_database
