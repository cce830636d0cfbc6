"""Studies in the metadata database: Optuna's journal as rows of ``tuning_journal`` (``seq``, JSON).

Why a journal and not Optuna's RDBStorage on the same database: RDBStorage creates
its own tables (``studies``, ``trials``...) and its own alembic history, whose
``alembic_version`` table is Shipyard's too; pointing it at a second file or schema
would split the metadata in two. The journal needs one table, made by Shipyard's
own migrations, and works the same on SQLite and PostgreSQL.

Appends from several processes stay in order with no gap: each append reads the
highest ``seq`` and inserts after it, in one transaction. On PostgreSQL the transaction
first takes an advisory lock (``pg_advisory_xact_lock``), so appends queue rather than
collide; on SQLite the write transaction itself serialises them. ``seq`` is the primary
key all the same: of two appends that read the same highest ``seq`` one fails, and is
retried after a short, growing, jittered pause.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import BackendUnavailable
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.tuning.store.base import JournalStore

J = t.tuning_journal
ATTEMPTS = 20
JOURNAL_LOCK_KEY = 0x5348_5059_5455_4E45  # "SHPYTUNE"
READ_BATCH = 5000


class SqlJournalStore(SqlStore, JournalStore):
    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        def read(conn: Connection) -> list[dict[str, Any]]:
            logs: list[dict[str, Any]] = []
            after = log_number_from
            while True:
                query = (
                    sa.select(J.c.seq, J.c.log).where(J.c.seq >= after).order_by(J.c.seq).limit(READ_BATCH)
                )
                rows = conn.execute(query).all()
                logs += [json.loads(row.log) for row in rows]
                if len(rows) < READ_BATCH:
                    return logs
                after = rows[-1].seq + 1

        return self._read(read)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if not logs:
            return
        texts = [json.dumps(log, separators=(",", ":")) for log in logs]

        def write(conn: Connection) -> None:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(JOURNAL_LOCK_KEY)))
            last = conn.execute(sa.select(sa.func.max(J.c.seq))).scalar()
            start = -1 if last is None else int(last)
            conn.execute(J.insert(), [{"seq": start + 1 + i, "log": text} for i, text in enumerate(texts)])

        for attempt in range(ATTEMPTS):
            try:
                self._write(write)
                return
            except IntegrityError:  # another process appended after the same log: go after it
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise BackendUnavailable(f"could not append to the tuning journal after {ATTEMPTS} attempts")
