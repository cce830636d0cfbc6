"""The scheduler's records on SQLite or PostgreSQL: ``schedules``, ``schedule_claims``, ``pipeline_requests``.

A claim is an INSERT in a transaction of its own: the primary key ``(schedule_id,
event_key)`` lets exactly one of several schedulers that saw the same event commit
it; the others get an ``IntegrityError`` and leave the event alone.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import NotFoundError
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.pipelines.models import Claim, ClaimStatus, PipelineRequest, Schedule, Trigger
from shipyard.pipelines.store.base import ScheduleStore

S, C, Q = t.schedules, t.schedule_claims, t.pipeline_requests


class SqlScheduleStore(SqlStore, ScheduleStore):
    """Schedules, claims and run requests in the metadata database."""

    # -- schedules -------------------------------------------------------------------
    def save_schedule(self, schedule: Schedule) -> Schedule:
        def write(conn: Connection) -> None:
            old = conn.execute(sa.select(S.c.id).where(S.c.ref == schedule.ref)).scalar()
            row = _schedule_row(schedule)
            if old is None:
                conn.execute(S.insert().values(**row))
            else:
                for kept in ("id", "created_at", "created_by"):
                    row.pop(kept)
                conn.execute(S.update().where(S.c.id == old).values(**row))

        try:
            self._write(write)
        except IntegrityError:  # created meanwhile by another process: replace that one
            self._write(write)
        found = self.find_schedule(schedule.ref)
        assert found is not None
        return found

    def find_schedule(self, key: str) -> Schedule | None:
        query = sa.select(S).where(sa.or_(S.c.id == key, S.c.ref == key))
        row = self._read(lambda conn: conn.execute(query).first())
        return None if row is None else _schedule(row)

    def list_schedules(self) -> list[Schedule]:
        rows = self._read(lambda conn: conn.execute(sa.select(S).order_by(S.c.ref)).all())
        return [_schedule(r) for r in rows]

    def delete_schedule(self, schedule_id: str) -> bool:
        query = S.delete().where(S.c.id == schedule_id)
        return bool(self._write(lambda conn: conn.execute(query).rowcount))

    def advance(self, schedule_id: str, cron_at: int | None = None, audit_seq: int | None = None) -> None:
        def write(conn: Connection) -> None:
            mine = S.c.id == schedule_id
            if cron_at is not None:
                conn.execute(S.update().where(mine, S.c.cron_at < cron_at).values(cron_at=cron_at))
            if audit_seq is not None:
                conn.execute(S.update().where(mine, S.c.audit_seq < audit_seq).values(audit_seq=audit_seq))

        self._write(write)

    # -- claims ----------------------------------------------------------------------
    def claim(self, claim: Claim, request_id: str | None = None) -> bool:
        def write(conn: Connection) -> None:
            conn.execute(C.insert().values(**_claim_row(claim)))
            if request_id is not None:
                conn.execute(Q.update().where(Q.c.id == request_id).values(status="claimed"))

        try:
            self._write(write)
        except IntegrityError:
            return False
        return True

    def update_claim(
        self,
        schedule_id: str,
        event_key: str,
        status: ClaimStatus,
        pipeline_run_id: str | None = None,
        ended_at: int | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "ended_at": ended_at, "error": error}
        if pipeline_run_id is not None:
            values["pipeline_run_id"] = sa.func.coalesce(C.c.pipeline_run_id, pipeline_run_id)
        query = C.update().where(C.c.schedule_id == schedule_id, C.c.event_key == event_key).values(**values)
        if not self._write(lambda conn: conn.execute(query).rowcount):
            raise NotFoundError(f"no claim of {event_key!r} by schedule {schedule_id!r}")

    def list_claims(self, schedule_id: str | None = None, limit: int = 100) -> list[Claim]:
        query = sa.select(C).order_by(C.c.claimed_at.desc(), C.c.event_key.desc()).limit(limit)
        if schedule_id is not None:
            query = query.where(C.c.schedule_id == schedule_id)
        return [_claim(r) for r in self._read(lambda conn: conn.execute(query).all())]

    # -- requests --------------------------------------------------------------------
    def add_request(self, request: PipelineRequest) -> None:
        row = {
            "id": request.id,
            "ref": request.ref,
            "params": _dumps(request.params),
            "reason": request.reason,
            "requested_at": request.requested_at,
            "requested_by": request.requested_by,
            "status": request.status,
        }
        self._write(lambda conn: conn.execute(Q.insert().values(**row)))

    def list_requests(self, status: str | None = "pending", limit: int = 100) -> list[PipelineRequest]:
        query = sa.select(Q).order_by(Q.c.requested_at, Q.c.id).limit(limit)
        if status is not None:
            query = query.where(Q.c.status == status)
        rows = self._read(lambda conn: conn.execute(query).all())
        return [
            PipelineRequest(
                r.id, r.ref, orjson.loads(r.params), r.reason, r.requested_at, r.requested_by, r.status
            )
            for r in rows
        ]


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _schedule_row(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "ref": schedule.ref,
        "pipeline": schedule.pipeline,
        "cron": schedule.cron,
        "triggers": _dumps([trigger.to_json() for trigger in schedule.triggers]),
        "catchup": schedule.catchup,
        "params": _dumps(schedule.params),
        "created_at": schedule.created_at,
        "created_by": schedule.created_by,
        "updated_at": schedule.updated_at,
        "cron_at": schedule.cron_at,
        "audit_seq": schedule.audit_seq,
    }


def _schedule(row: Any) -> Schedule:
    return Schedule(
        id=row.id,
        ref=row.ref,
        pipeline=row.pipeline,
        cron=row.cron,
        triggers=tuple(Trigger.from_json(doc) for doc in orjson.loads(row.triggers)),
        catchup=bool(row.catchup),
        params=orjson.loads(row.params),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        cron_at=row.cron_at,
        audit_seq=row.audit_seq,
    )


def _claim_row(claim: Claim) -> dict[str, Any]:
    return {
        "schedule_id": claim.schedule_id,
        "event_key": claim.event_key,
        "ref": claim.ref,
        "reason": claim.reason,
        "claimed_at": claim.claimed_at,
        "claimed_by": claim.claimed_by,
        "status": claim.status.value,
        "pipeline_run_id": claim.pipeline_run_id,
        "ended_at": claim.ended_at,
        "error": claim.error,
    }


def _claim(row: Any) -> Claim:
    return Claim(
        schedule_id=row.schedule_id,
        event_key=row.event_key,
        ref=row.ref,
        reason=row.reason,
        claimed_at=row.claimed_at,
        claimed_by=row.claimed_by,
        status=ClaimStatus(row.status),
        pipeline_run_id=row.pipeline_run_id,
        ended_at=row.ended_at,
        error=row.error,
    )
