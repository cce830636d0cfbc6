"""The plumbing every SQL-backed store shares: one engine per URI, a checked schema,
write transactions and read connections retried on SQLite lock errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection

from shipyard.db.engine import get_engine, reading, with_retry
from shipyard.db.migrate import ensure_schema

T = TypeVar("T")


class SqlStore:
    """Base of the SQL stores: ``_write`` runs in a write transaction, ``_read`` on a read connection.

    The embedded SQLite schema is upgraded on first use; a PostgreSQL schema must be
    upgraded with ``shipyard db upgrade``.
    """

    def __init__(self, uri: str) -> None:
        self.engine = get_engine(uri)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        ensure_schema(self.engine, auto_upgrade=self.is_sqlite)

    def _write(self, fn: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with self.engine.begin() as conn:
                return fn(conn)

        return with_retry(attempt)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with reading(self.engine) as conn:
                return fn(conn)

        return with_retry(attempt)
