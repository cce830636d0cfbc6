"""The audit log on the embedded SQLite database, through the standard ``sqlite3`` module.

:class:`~shipyard.governance.store.sql.SqlAuditStore` (SQLAlchemy) is the audit store of
the embedded database; this one writes the same ``audit_events`` rows by the same rules
(the last event is read and the next appended in one ``BEGIN IMMEDIATE`` transaction, so
concurrent appenders queue and never fork the chain) without loading SQLAlchemy, for the
lean commands that write little and must start fast (see :mod:`shipyard.db.lite`).
"""

from __future__ import annotations

import sqlite3

from shipyard.core.errors import AlreadyExistsError
from shipyard.db.lite import LiteDatabase
from shipyard.governance.chain import GENESIS_HASH, event_hash
from shipyard.governance.models import AuditEvent
from shipyard.governance.store.base import AuditStore

_FIELDS = "seq, time, actor, action, target, payload_digest, prev_hash, hash"


class SqliteAuditStore(AuditStore):
    """The audit log in table ``audit_events`` of an embedded database opened with :class:`LiteDatabase`."""

    def __init__(self, database: LiteDatabase) -> None:
        self.database = database

    def append(self, time: int, actor: str, action: str, target: str, payload_digest: str) -> AuditEvent:
        def write(conn: sqlite3.Connection) -> AuditEvent:
            last = _last(conn)
            seq = last.seq + 1 if last else 1
            prev_hash = last.hash if last else GENESIS_HASH
            digest = event_hash(seq, time, actor, action, target, payload_digest, prev_hash)
            event = AuditEvent(seq, time, actor, action, target, payload_digest, prev_hash, digest)
            conn.execute(
                f"INSERT INTO audit_events ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, time, actor, action, target, payload_digest, prev_hash, digest),
            )
            return event

        try:
            return self.database.run(write, write=True)
        except sqlite3.IntegrityError as exc:
            raise AlreadyExistsError("an audit event with that seq or hash already exists") from exc

    def list_events(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        query = f"SELECT {_FIELDS} FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?"
        rows = self.database.run(lambda conn: conn.execute(query, (after_seq, max(limit, 0))).fetchall())
        return [AuditEvent(*row) for row in rows]

    def last_event(self) -> AuditEvent | None:
        return self.database.run(_last)


def _last(conn: sqlite3.Connection) -> AuditEvent | None:
    row = conn.execute(f"SELECT {_FIELDS} FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else AuditEvent(*row)
