"""Monitor storage on SQLite or PostgreSQL (SQLAlchemy Core on the tables of migration 0007).

A monitor's next version is ``max(version) + 1`` inside the inserting transaction; a
racing insert of the same version fails on the primary key and is retried once.
Alerts are upserted by id with the result that touched them, in one transaction.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import ConflictError, NotFoundError
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.monitoring.monitor_models import Alert, Monitor, MonitorResult
from shipyard.monitoring.store.base import MonitorStore

__all__ = ["SqlMonitorStore"]

M, R, A = t.monitors, t.monitor_results, t.alerts


class SqlMonitorStore(SqlStore, MonitorStore):
    """Monitor store on a SQL database chosen by URI."""

    def create_monitor(self, draft: Monitor) -> Monitor:
        def write(conn: Connection) -> int:
            current = conn.execute(sa.select(sa.func.max(M.c.version)).where(M.c.name == draft.name)).scalar()
            number = int(current or 0) + 1
            conn.execute(
                M.insert().values(
                    name=draft.name,
                    version=number,
                    spec=orjson.dumps(draft.content()).decode(),
                    created_at=draft.created_at,
                    created_by=draft.created_by,
                )
            )
            return number

        for _ in range(2):
            try:
                return self.get_monitor(draft.name, self._write(write))
            except IntegrityError:
                continue
        raise ConflictError(f"monitor {draft.name!r} changed meanwhile; try again")

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

    def add_result(self, result: MonitorResult, alerts: list[Alert]) -> None:
        def write(conn: Connection) -> None:
            conn.execute(
                R.insert().values(
                    id=result.id,
                    monitor=result.monitor,
                    monitor_version=result.monitor_version,
                    created_at=result.created_at,
                    status=result.status,
                    n_predictions=result.n_predictions,
                    result=_json(result.to_dict()),
                )
            )
            for alert in alerts:
                values = _alert_row(alert)
                done = conn.execute(A.update().where(A.c.id == alert.id).values(values))
                if done.rowcount == 0:
                    conn.execute(A.insert().values(id=alert.id, **values))

        self._write(write)

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


def _alert_row(alert: Alert) -> dict[str, Any]:
    values = alert.to_dict()
    values.pop("id")
    value = values["value"]
    values["value"] = None if value is None or not math.isfinite(value) else value
    return values


def _alert(row: Any) -> Alert:
    return Alert(**{c.name: getattr(row, c.name) for c in A.columns})


def _json(data: dict[str, Any]) -> str:
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY, default=_plain).decode()


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return None
    return str(value)
