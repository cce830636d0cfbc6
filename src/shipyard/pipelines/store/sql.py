"""Pipelines on SQLite or PostgreSQL (SQLAlchemy Core on ``pipeline_runs``, ``step_runs``
and ``pipeline_cache``).

Step runs and cache entries are upserted in batches: the runner saves the progress
of many steps in one transaction, so a pipeline of 100 steps costs a handful of
writes, not hundreds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.pipelines.models import CacheEntry, OutputRef, PipelineRun, PipelineStatus, StepRun, StepStatus
from shipyard.pipelines.store.base import PipelineStore

R, S, C = t.pipeline_runs, t.step_runs, t.pipeline_cache
_STEP_KEYS = ["pipeline_run_id", "node"]


class SqlPipelineStore(SqlStore, PipelineStore):
    """Pipeline store on a SQL database chosen by URI (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    # -- writes ----------------------------------------------------------------------
    def create_run(self, run: PipelineRun, steps: Sequence[StepRun]) -> None:
        def write(conn: Connection) -> None:
            conn.execute(R.insert().values(**_run_row(run)))
            if steps:
                conn.execute(S.insert(), [_step_row(s) for s in steps])

        try:
            self._write(write)
        except IntegrityError as exc:
            raise AlreadyExistsError(f"pipeline run {run.id!r} or one of its steps already exists") from exc

    def save_steps(self, run_id: str, steps: Sequence[StepRun], cache: Sequence[CacheEntry] = ()) -> None:
        def write(conn: Connection) -> None:
            self._check_open(conn, run_id)
            self._save(conn, run_id, steps, cache)

        self._write(write)

    def end_run(
        self,
        run_id: str,
        status: PipelineStatus,
        ended_at: int,
        error: str | None = None,
        steps: Sequence[StepRun] = (),
        cache: Sequence[CacheEntry] = (),
    ) -> PipelineRun:
        def write(conn: Connection) -> None:
            self._check_open(conn, run_id)
            self._save(conn, run_id, steps, cache)
            conn.execute(
                R.update().where(R.c.id == run_id).values(status=status.value, ended_at=ended_at, error=error)
            )

        self._write(write)
        return self.get_run(run_id)

    def delete_cache(self, step: str | None = None) -> int:
        query = C.delete() if step is None else C.delete().where(C.c.step == step)
        return int(self._write(lambda conn: conn.execute(query).rowcount))

    def _check_open(self, conn: Connection, run_id: str) -> None:
        status = conn.execute(sa.select(R.c.status).where(R.c.id == run_id)).scalar()
        if status is None:
            raise NotFoundError(f"pipeline run {run_id!r} not found")
        if PipelineStatus(status).is_terminal:
            raise ConflictError(f"pipeline run {run_id} already ended as {status}")

    def _save(
        self, conn: Connection, run_id: str, steps: Sequence[StepRun], cache: Sequence[CacheEntry]
    ) -> None:
        for step in steps:
            if step.pipeline_run_id != run_id:
                raise ConflictError(
                    f"step run {step.node!r} belongs to run {step.pipeline_run_id}, not {run_id}"
                )
        # The last record of a node (of a key) wins: one statement must not touch a row twice.
        self._upsert(conn, S, _STEP_KEYS, list({s.node: _step_row(s) for s in steps}.values()))
        self._upsert(conn, C, ["cache_key"], list({e.cache_key: _cache_row(e) for e in cache}.values()))

    def _upsert(self, conn: Connection, table: sa.Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
        """One INSERT ... ON CONFLICT DO UPDATE run for many rows (compiled once, then cached)."""
        if not rows:
            return
        insert = self._insert(table)
        changed = {c: insert.excluded[c] for c in rows[0] if c not in keys}
        conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=changed), rows)

    def _insert(self, table: sa.Table) -> Any:
        # Imported here: a dialect package is slow to import, and a command needs only one.
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)

    # -- reads -----------------------------------------------------------------------
    def get_run(self, run_id: str) -> PipelineRun:
        row = self._read(lambda conn: conn.execute(sa.select(R).where(R.c.id == run_id)).first())
        if row is None:
            raise NotFoundError(f"pipeline run {run_id!r} not found")
        return _run(row)

    def list_runs(self, pipeline: str | None = None, limit: int = 100, offset: int = 0) -> list[PipelineRun]:
        query = sa.select(R).order_by(R.c.created_at.desc(), R.c.id.desc()).limit(limit).offset(offset)
        if pipeline is not None:
            query = query.where(R.c.pipeline == pipeline)
        return [_run(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def list_steps(self, run_id: str) -> list[StepRun]:
        def read(conn: Connection) -> list[StepRun]:
            if conn.execute(sa.select(R.c.id).where(R.c.id == run_id)).first() is None:
                raise NotFoundError(f"pipeline run {run_id!r} not found")
            query = sa.select(S).where(S.c.pipeline_run_id == run_id).order_by(S.c.position, S.c.node)
            return [_step(r) for r in conn.execute(query)]

        return self._read(read)

    def find_cache(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        wanted = list(dict.fromkeys(keys))

        def read(conn: Connection) -> dict[str, CacheEntry]:
            found: dict[str, CacheEntry] = {}
            for start in range(0, len(wanted), 500):
                query = sa.select(C).where(C.c.cache_key.in_(wanted[start : start + 500]))
                found.update((r.cache_key, _cache(r)) for r in conn.execute(query))
            return found

        return self._read(read) if wanted else {}

    def output_digests(self) -> set[str]:
        def read(conn: Connection) -> set[str]:
            found: set[str] = set()
            for table in (S, C):
                for (outputs,) in conn.execute(sa.select(table.c.outputs)):
                    found.update(ref[0] for ref in orjson.loads(outputs).values())
            return found

        return self._read(read)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _outputs_json(outputs: dict[str, OutputRef]) -> str:
    return _dumps({name: ref.to_json() for name, ref in outputs.items()})


def _outputs(text: str) -> dict[str, OutputRef]:
    return {name: OutputRef.from_json(ref) for name, ref in orjson.loads(text).items()}


def _run_row(run: PipelineRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "pipeline": run.pipeline,
        "status": run.status.value,
        "created_at": run.created_at,
        "ended_at": run.ended_at,
        "executor": run.executor,
        "source": run.source,
        "tracking_run_id": run.tracking_run_id,
        "resumed_from": run.resumed_from,
        "created_by": run.created_by,
        "error": run.error,
        "params": _dumps(run.params),
        "graph": _dumps(run.graph),
        "outputs": _dumps(run.outputs),
    }


def _run(row: Any) -> PipelineRun:
    return PipelineRun(
        id=row.id,
        pipeline=row.pipeline,
        status=PipelineStatus(row.status),
        created_at=row.created_at,
        params=orjson.loads(row.params),
        executor=row.executor,
        source=row.source,
        tracking_run_id=row.tracking_run_id,
        ended_at=row.ended_at,
        error=row.error,
        resumed_from=row.resumed_from,
        created_by=row.created_by,
        graph=orjson.loads(row.graph),
        outputs=orjson.loads(row.outputs),
    )


def _step_row(step: StepRun) -> dict[str, Any]:
    return {
        "pipeline_run_id": step.pipeline_run_id,
        "node": step.node,
        "step": step.step,
        "status": step.status.value,
        "position": step.position,
        "attempts": step.attempts,
        "started_at": step.started_at,
        "ended_at": step.ended_at,
        "duration_ms": step.duration_ms,
        "cache_key": step.cache_key,
        "cache_hit": step.cache_hit,
        "tracking_run_id": step.tracking_run_id,
        "inputs": _dumps(step.inputs),
        "outputs": _outputs_json(step.outputs),
        "error": step.error,
    }


def _step(row: Any) -> StepRun:
    return StepRun(
        pipeline_run_id=row.pipeline_run_id,
        node=row.node,
        step=row.step,
        status=StepStatus(row.status),
        position=row.position,
        attempts=row.attempts,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_ms=row.duration_ms,
        cache_key=row.cache_key,
        cache_hit=bool(row.cache_hit),
        inputs=orjson.loads(row.inputs),
        outputs=_outputs(row.outputs),
        error=row.error,
        tracking_run_id=row.tracking_run_id,
    )


def _cache_row(entry: CacheEntry) -> dict[str, Any]:
    return {
        "cache_key": entry.cache_key,
        "step": entry.step,
        "outputs": _outputs_json(entry.outputs),
        "pipeline_run_id": entry.pipeline_run_id,
        "created_at": entry.created_at,
    }


def _cache(row: Any) -> CacheEntry:
    return CacheEntry(row.cache_key, row.step, _outputs(row.outputs), row.pipeline_run_id, row.created_at)
