"""Migrations create exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shipyard.core.errors import BackendUnavailable
from shipyard.db.engine import get_engine
from shipyard.db.migrate import _known_head, current_revision, ensure_schema, head_revision, upgrade
from shipyard.db.tables import metadata


def _diff(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_sqlite_schema_matches_the_tables(tmp_path: Path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'm.db'}")
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision() == _known_head()
    assert _diff(engine) == []
    assert upgrade(engine) == head_revision(), "upgrading twice is a no-op"


@pytest.mark.postgres
def test_postgres_schema_matches_the_tables(postgres_database: str) -> None:
    engine = get_engine(postgres_database)
    assert current_revision(engine) == head_revision()
    assert _diff(engine) == []


def test_a_server_database_is_not_upgraded_behind_its_back(tmp_path: Path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with pytest.raises(BackendUnavailable, match="shipyard db upgrade"):
        ensure_schema(engine, auto_upgrade=False)
    assert current_revision(engine) is None
