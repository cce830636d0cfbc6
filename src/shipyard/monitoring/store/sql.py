"""Monitor storage on SQLite or PostgreSQL (SQLAlchemy Core on the tables of migration 0007).

Writers of one monitor are serialised: on SQLite every write transaction starts with
``BEGIN IMMEDIATE``; on PostgreSQL a transaction first takes the advisory lock of the
monitor's name (``pg_advisory_xact_lock``, released at commit or rollback). Inside it a
monitor's next version is ``max(version) + 1`` (or nothing, when the latest version has
the same content), and a result's alerts are checked (the ones its evaluation read are
unchanged, no second firing alert of a check) before they are upserted by id with the
result, in the same transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import ConflictError, NotFoundError
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.monitoring.monitor_models import Alert, Monitor, MonitorResult
from shipyard.monitoring.store.base import MonitorStore, firing_conflict, stale_alert

__all__ = ["SqlMonitorStore"]

M, R, A = t.monitors, t.monitor_results, t.alerts
LOCK_PREFIX = "shipyard.monitor:"


class SqlMonitorStore(SqlStore, MonitorStore):
    """Monitor store on a SQL database chosen by URI."""

    def _lock(self, conn: Connection, name: str) -> None:
        """Serialise this transaction with the other writers of monitor ``name`` (PostgreSQL)."""
        if not self.is_sqlite:
            key = sa.func.hashtextextended(LOCK_PREFIX + name, 0)
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    def create_monitor(self, draft: Monitor) -> Monitor:
        def write(conn: Connection) -> int:
            self._lock(conn, draft.name)
            latest = conn.execute(
                sa.select(M.c.version, M.c.spec)
                .where(M.c.name == draft.name)
                .order_by(M.c.version.desc())
                .limit(1)
            ).first()
            spec = orjson.dumps(draft.content())
            if latest is not None and orjson.loads(latest.spec) == orjson.loads(spec):
                return int(latest.version)
            number = 1 if latest is None else int(latest.version) + 1
            conn.execute(
                M.insert().values(
                    name=draft.name,
                    version=number,
                    spec=spec.decode(),
                    created_at=draft.created_at,
                    created_by=draft.created_by,
                )
            )
            return number

        try:
            return self.get_monitor(draft.name, self._write(write))
        except IntegrityError as exc:  # only without the lock, which every writer here takes
            raise ConflictError(f"monitor {draft.name!r} changed meanwhile; try again") from exc

    def get_monitor(self, name: str, version: int | None = None) -> Monitor:
        query = sa.select(M).where(M.c.name == name)
        query = query.order_by(M.c.version.desc()) if version is None else query.where(M.c.version == version)
        row = self._read(lambda conn: conn.execute(query.limit(1)).first())
        if row is None:
            raise NotFoundError(f"no monitor {name!r}" + ("" if version is None else f" version {version}"))
        return _monitor(row)

    def list_monitors(self) -> list[Monitor]:
        latest = sa.select(M.c.name, sa.func.max(M.c.version).label("v")).group_by(M.c.name).subquery()
        query = (
            sa.select(M)
            .join(latest, sa.and_(latest.c.name == M.c.name, latest.c.v == M.c.version))
            .order_by(M.c.name)
        )
        return [_monitor(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def add_result(self, result: MonitorResult, alerts: list[Alert], read: Sequence[Alert] = ()) -> None:
        def write(conn: Connection) -> None:
            self._lock(conn, result.monitor)
            if read:
                rows = conn.execute(sa.select(A).where(A.c.id.in_(sorted({a.id for a in read})))).all()
                conflict = stale_alert(read, {r.id: _alert(r) for r in rows})
                if conflict is not None:
                    raise ConflictError(conflict)
            if alerts:
                monitors = sorted({a.monitor for a in alerts})
                firing = sa.select(A.c.monitor, A.c.check, A.c.id).where(
                    A.c.monitor.in_(monitors), A.c.state == "firing"
                )
                rows = conn.execute(firing).all()
                conflict = firing_conflict(alerts, {(r.monitor, r.check): r.id for r in rows})
                if conflict is not None:
                    raise ConflictError(conflict)
            conn.execute(R.insert().values(id=result.id, **_result_row(result)))
            for alert in alerts:
                values = _alert_row(alert)
                done = conn.execute(A.update().where(A.c.id == alert.id).values(values))
                if done.rowcount == 0:
                    conn.execute(A.insert().values(id=alert.id, **values))

        try:
            self._write(write)
        except IntegrityError as exc:
            raise ConflictError(f"a monitor result with id {result.id} is already stored") from exc

    def update_result(self, result: MonitorResult) -> None:
        def write(conn: Connection) -> int:
            done = conn.execute(R.update().where(R.c.id == result.id).values(_result_row(result)))
            return int(done.rowcount)

        if self._write(write) == 0:
            raise NotFoundError(f"no monitor result {result.id}")

    def list_results(self, monitor: str, limit: int = 100) -> list[MonitorResult]:
        query = (
            sa.select(R.c.result)
            .where(R.c.monitor == monitor)
            .order_by(R.c.created_at.desc(), R.c.id.desc())
            .limit(max(1, limit))
        )
        rows = self._read(lambda conn: conn.execute(query).all())
        return [MonitorResult.from_dict(orjson.loads(r.result)) for r in rows]

    def list_alerts(
        self, monitor: str | None = None, state: str | None = None, check: str | None = None, limit: int = 100
    ) -> list[Alert]:
        query = sa.select(A)
        if monitor is not None:
            query = query.where(A.c.monitor == monitor)
        if state is not None:
            query = query.where(A.c.state == state)
        if check is not None:
            query = query.where(A.c.check == check)
        query = query.order_by(A.c.fired_at.desc(), A.c.id.desc()).limit(max(1, limit))
        return [_alert(r) for r in self._read(lambda conn: conn.execute(query).all())]


def _monitor(row: Any) -> Monitor:
    return Monitor.from_content(row.name, orjson.loads(row.spec), row.version, row.created_at, row.created_by)


def _result_row(result: MonitorResult) -> dict[str, Any]:
    return {
        "monitor": result.monitor,
        "monitor_version": result.monitor_version,
        "created_at": result.created_at,
        "status": result.status,
        "n_predictions": result.n_predictions,
        "result": result.to_json().decode(),
    }


def _alert_row(alert: Alert) -> dict[str, Any]:
    values = alert.to_dict()
    values.pop("id")
    value = values["value"]
    values["value"] = None if value is None or not math.isfinite(value) else value
    return values


def _alert(row: Any) -> Alert:
    return Alert(**{c.name: getattr(row, c.name) for c in A.columns})
