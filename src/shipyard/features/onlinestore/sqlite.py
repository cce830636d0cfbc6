"""An online store in a SQLite file of its own (default ``<home>/online.db``).

One table holds every view: ``online(view, key, value)`` keyed by ``(view, key)`` and
``WITHOUT ROWID``, so a read is one B-tree lookup that finds the value in the key's own
page. The file runs in WAL mode with ``synchronous=NORMAL``: readers never wait for a
writer, and a commit does not wait for the disk (a power cut may lose the last commits,
never corrupt the file; materialization can simply be run again).

Each thread gets a connection of its own, opened on first use; ``close()`` closes them
all, and a forked child process opens its own instead of sharing its parent's. A batch
is written by ``executemany`` inside one ``BEGIN IMMEDIATE`` transaction, so concurrent
writers (threads or processes) take turns instead of failing, and a reader sees a batch
whole or not at all. Reads use constant SQL texts, which ``sqlite3`` keeps prepared in
each connection's statement cache.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path

import orjson

from shipyard.core.errors import BackendUnavailable, InvalidInputError, ShipyardError
from shipyard.features.onlinestore.base import OnlineStore

BUSY_TIMEOUT_S = 30.0
READ_CHUNK = 10_000  # keys per multi-key query (one JSON array parameter)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS online ("
    "view TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (view, key)"
    ") WITHOUT ROWID"
)
_UPSERT = "INSERT OR REPLACE INTO online (view, key, value) VALUES (?, ?, ?)"
_READ_ONE = "SELECT value FROM online WHERE view = ? AND key = ?"
_READ_MANY = "SELECT key, value FROM online WHERE view = ? AND key IN (SELECT value FROM json_each(?))"
_COUNT = "SELECT count(*) FROM online WHERE view = ?"
_DELETE = "DELETE FROM online WHERE view = ?"


def sqlite_path(uri: str, home: str | Path | None) -> Path:
    """The file of ``sqlite:///path`` (relative paths from the working directory).

    ``sqlite://`` or ``""`` means ``<home>/online.db``.

    >>> str(sqlite_path("sqlite:////srv/online.db", None)), str(sqlite_path("", "/h"))
    ('/srv/online.db', '/h/online.db')
    """
    rest = uri.partition("://")[2] if "://" in uri else ""
    path = rest[1:] if rest.startswith("/") else rest
    if path in ("", "/"):
        if home is None:
            raise InvalidInputError(f"online store URI {uri!r} names no file and no home was given")
        return Path(home) / "online.db"
    if path == ":memory:" or path.startswith("file:"):
        raise InvalidInputError(f"online store {uri!r}: give a file path, or use memory:// for no file")
    return Path(path)


class SqliteOnlineStore(OnlineStore):
    """Latest feature rows in one SQLite file, safe to share between threads."""

    def __init__(self, uri: str = "", home: str | Path | None = None) -> None:
        self.path = sqlite_path(uri, home)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        forget = weakref.WeakMethod(self._after_fork)
        os.register_at_fork(after_in_child=lambda: (method := forget()) is not None and method())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailable(f"cannot create the folder of {self.path}: {exc}") from exc
        with self._translate():
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def _after_fork(self) -> None:
        """A forked child must not touch its parent's connections: it opens its own."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections = []

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,  # transactions are explicit
            check_same_thread=False,  # only so that close() may close it from any thread
            cached_statements=64,
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if self._closed:
                    raise InvalidInputError(f"the online store {self.path} is closed")
                conn = self._open()
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def _error(self, exc: sqlite3.Error) -> ShipyardError:
        """The Shipyard error a driver error stands for."""
        bad_input = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)
        kind = InvalidInputError if isinstance(exc, bad_input) else BackendUnavailable
        return kind(f"online store {self.path}: {exc}")

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._translate():
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def write_batch(self, view: str, records: Sequence[tuple[str, bytes]]) -> None:
        if not records:
            return
        # In key order the B-tree is filled page after page (a fifth less work than random
        # order); the sort is stable, so the last pair for a key still wins.
        ordered = sorted(records, key=itemgetter(0))
        with self._transaction() as conn:
            conn.executemany(_UPSERT, [(view, key, value) for key, value in ordered])

    def read(self, view: str, keys: Sequence[str]) -> list[bytes | None]:
        conn = getattr(self._local, "conn", None) or self._conn()
        try:  # the hot path of online serving: no context manager, one cached statement
            if len(keys) == 1:
                row = conn.execute(_READ_ONE, (view, keys[0])).fetchone()
                return [None if row is None else row[0]]
            found: dict[str, bytes] = {}
            for start in range(0, len(keys), READ_CHUNK):
                wanted = orjson.dumps(list(keys[start : start + READ_CHUNK]))
                found.update(conn.execute(_READ_MANY, (view, wanted)).fetchall())
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return [found.get(key) for key in keys]

    def delete_view(self, view: str) -> int:
        with self._transaction() as conn:
            return int(conn.execute(_DELETE, (view,)).rowcount)

    def count(self, view: str) -> int:
        with self._translate():
            return int(self._conn().execute(_COUNT, (view,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
