"""The embedded SQLite database through the standard ``sqlite3`` module, for the few lean stores.

The SQL stores (SQLAlchemy, :mod:`shipyard.db.engine`) own the metadata database: they
create and upgrade its schema. Importing SQLAlchemy takes longer than some commands take
(``shipyard data add`` of a folder of many files), so a few stores also exist on plain
``sqlite3`` connections set up here as the engine sets up its own: WAL, a busy timeout,
foreign keys on, ``BEGIN IMMEDIATE`` for writes (writers queue), lock errors retried. Such
a connection opens only a database already at the newest schema revision.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from shipyard.core.errors import BackendUnavailable

T = TypeVar("T")
#: How long a writer waits for another to finish (as the SQLAlchemy engine does).
BUSY_TIMEOUT_S = 60.0
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
_MIGRATIONS = Path(__file__).with_name("migrations") / "versions"


def known_head() -> str:
    """The newest schema revision id, read from the names of the migration files."""
    names = sorted(p.stem for p in _MIGRATIONS.glob("[0-9]*.py"))
    return names[-1].split("_", 1)[0]


class LiteDatabase:
    """One ``sqlite3`` connection to the database file ``path``, shared by threads one at a time.

    BackendUnavailable if the file cannot be opened or its schema is not at the newest
    revision (the SQL stores upgrade it on first use).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"cannot open the metadata database {path!r}: {exc}") from exc
        try:
            for pragma in _PRAGMAS:
                conn.execute(pragma)
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error as exc:
            conn.close()
            raise BackendUnavailable(f"the metadata database {path!r} has no schema yet: {exc}") from exc
        if row is None or row[0] != known_head():
            conn.close()
            found = row[0] if row else "none"
            raise BackendUnavailable(
                f"the metadata database {path!r} is at schema revision {found}, not {known_head()}"
            )
        self._conn = conn
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def run(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        """``fn(conn)`` in one transaction (``BEGIN IMMEDIATE`` to write), retried while the database is busy.

        ``sqlite3.IntegrityError`` is raised as it is, for the store to say what clashed;
        any other database error is BackendUnavailable.
        """
        delay = 0.05
        for attempt in range(8):
            try:
                with self._lock, self._transaction(write):
                    return fn(self._conn)
            except sqlite3.IntegrityError:
                raise
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and attempt < 7:
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                raise BackendUnavailable(f"metadata database error: {exc}") from exc
            except sqlite3.Error as exc:
                raise BackendUnavailable(f"metadata database error: {exc}") from exc
        raise AssertionError("unreachable")

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
