"""Schema migrations with Alembic.

The embedded SQLite store is upgraded automatically on first use; a server's
PostgreSQL database is upgraded by ``shipyard db upgrade``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.core.errors import BackendUnavailable
from shipyard.db.engine import with_retry
from shipyard.db.lite import known_head

MIGRATIONS = Path(__file__).with_name("migrations")
_checked: set[str] = set()
_lock = threading.Lock()


def _config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _config(sa.create_engine("sqlite://"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    def read() -> str | None:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    return with_retry(read)


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it."""
    from alembic import command

    cfg = _config(engine)

    def run() -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    with_retry(run)
    _checked.add(str(engine.url))
    return head_revision()


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Check (once per process) that the schema is current; upgrade it if allowed."""
    key = str(engine.url)
    if key in _checked:
        return
    with _lock:
        if key in _checked:
            return
        current = current_revision(engine)
        head = _known_head()
        if current != head:
            if not auto_upgrade:
                raise BackendUnavailable(
                    f"the metadata database is at schema revision {current or 'none'}, "
                    f"this Shipyard needs {head}: run `shipyard db upgrade`"
                )
            upgrade(engine)
        _checked.add(key)


def _known_head() -> str:
    """Newest revision id, read from the file names without importing Alembic."""
    return known_head()
