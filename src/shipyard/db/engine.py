"""SQLAlchemy engines for the metadata store: SQLite (embedded) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout and foreign keys on, and every write
transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers queue on the
busy timeout instead of failing with "database is locked" on lock upgrade.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from shipyard.core.errors import BackendUnavailable, InvalidInputError

SQLITE_BUSY_TIMEOUT_MS = 60_000
# Text that counts as a number when a param or tag is compared with <, <=, >, >=.
NUMERIC_TEXT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def normalize_uri(uri: str) -> str:
    """Spell PostgreSQL URIs with the psycopg 3 driver.

    >>> normalize_uri("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri


def _sqlite_engine(uri: str) -> Engine:
    path = uri.removeprefix("sqlite:///")
    if path and path != ":memory:" and not uri.startswith("sqlite:///:memory:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        uri, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.close()
        dbapi_conn.create_function("sy_num", 1, _as_number, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("shipyard_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _as_number(text: object) -> float | None:
    """SQLite function ``sy_num(text)``: the number a text spells, else NULL."""
    if isinstance(text, int | float):
        return float(text)
    if not isinstance(text, str) or not NUMERIC_TEXT.fullmatch(text):
        return None
    return float(text)


def get_engine(uri: str) -> Engine:
    """One engine per URI per process."""
    uri = normalize_uri(uri)
    with _lock:
        engine = _engines.get(uri)
        if engine is None:
            if uri.startswith("sqlite:"):
                engine = _sqlite_engine(uri)
            elif uri.startswith("postgresql+psycopg://"):
                engine = sa.create_engine(uri, pool_pre_ping=True, pool_size=5, max_overflow=10)
            else:
                raise InvalidInputError(
                    f"unsupported database URI {uri!r}; use sqlite:///path or postgresql+psycopg://user@host/db"
                )
            _engines[uri] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (used by tests and after fork)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text


def with_retry(fn: Callable[[], T], attempts: int = 8) -> T:
    """Run ``fn``; retry SQLite lock errors with backoff, translate driver errors."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if _is_locked(exc) and attempt < attempts - 1:
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            raise BackendUnavailable(f"metadata database error: {exc.orig}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise BackendUnavailable(f"lost connection to the metadata database: {exc.orig}") from exc
            raise
    raise AssertionError("unreachable")


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite: writers queue, never deadlock)."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only connection (a deferred ``BEGIN`` on SQLite, so readers never block writers)."""
    with engine.connect().execution_options(shipyard_read_only=True) as conn:
        yield conn
