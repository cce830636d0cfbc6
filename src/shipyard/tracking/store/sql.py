"""Tracking on SQLite or PostgreSQL (SQLAlchemy Core).

Metric points are stored columnar (see ``metric_chunks``): a batch of any size is a
handful of rows, and a history of 100,000 points is read back as a few blobs. The
latest value of each key is kept in ``latest_metrics`` by an upsert, so search never
touches the history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.tracking.filters import Expr, OrderBy
from shipyard.tracking.models import (
    Artifact,
    CompletedRun,
    Experiment,
    MetricHistory,
    RunInput,
    RunRecord,
    RunStatus,
)
from shipyard.tracking.store.base import MetricRow, TrackingStore
from shipyard.tracking.store.metric_chunks import pack_chunks, unpack_chunks
from shipyard.tracking.store.sql_search import build_search

T = TypeVar("T")
NAN = math.nan

_RUN_COLUMNS = (
    t.runs.c.pk,
    t.runs.c.id,
    t.runs.c.experiment_id,
    t.runs.c.name,
    t.runs.c.status,
    t.runs.c.start_time,
    t.runs.c.end_time,
    t.runs.c.heartbeat_at,
    t.runs.c.error,
    t.runs.c.lineage,
    t.runs.c.params_json,
    t.runs.c.tags_json,
    t.runs.c.metrics_json,
)


class SqlTrackingStore(SqlStore, TrackingStore):
    """Tracking store on a SQL database chosen by URI (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self._pks: dict[str, int] = {}

    def _pk(self, conn: Connection, run_id: str) -> int:
        pk = self._pks.get(run_id)
        if pk is None:
            pk = conn.execute(sa.select(t.runs.c.pk).where(t.runs.c.id == run_id)).scalar()
            if pk is None:
                raise NotFoundError(f"run {run_id!r} not found")
            self._pks[run_id] = pk
        return pk

    # -- experiments ---------------------------------------------------------------
    def create_experiment(
        self, experiment_id: str, name: str, created_at: int, tags: Mapping[str, str] | None = None
    ) -> Experiment:
        row = {
            "id": experiment_id,
            "name": name,
            "created_at": created_at,
            "tags": orjson.dumps(dict(tags or {})).decode(),
        }
        try:
            self._write(lambda conn: conn.execute(t.experiments.insert().values(**row)))
        except IntegrityError as exc:
            raise AlreadyExistsError(f"experiment {name!r} already exists") from exc
        return Experiment(experiment_id, name, created_at, dict(tags or {}))

    def get_experiment(self, experiment_id: str) -> Experiment:
        found = self._find_experiment(t.experiments.c.id == experiment_id)
        if found is None:
            raise NotFoundError(f"experiment {experiment_id!r} not found")
        return found

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        return self._find_experiment(t.experiments.c.name == name)

    def _find_experiment(self, where: Any) -> Experiment | None:
        row = self._read(lambda conn: conn.execute(sa.select(t.experiments).where(where)).first())
        return None if row is None else _experiment(row)

    def list_experiments(self, limit: int = 1000, offset: int = 0) -> list[Experiment]:
        query = sa.select(t.experiments).order_by(t.experiments.c.created_at, t.experiments.c.id)
        rows = self._read(lambda conn: conn.execute(query.limit(limit).offset(offset)).all())
        return [_experiment(r) for r in rows]

    # -- runs ----------------------------------------------------------------------
    def create_run(
        self,
        run_id: str,
        experiment_id: str,
        name: str,
        start_time: int,
        tags: Mapping[str, str] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        def write(conn: Connection) -> None:
            if (
                conn.execute(sa.select(t.experiments.c.id).where(t.experiments.c.id == experiment_id)).first()
                is None
            ):
                raise NotFoundError(f"experiment {experiment_id!r} not found")
            pk = conn.execute(
                t.runs.insert()
                .values(
                    id=run_id,
                    experiment_id=experiment_id,
                    name=name,
                    status=RunStatus.RUNNING.value,
                    start_time=start_time,
                    lineage=orjson.dumps(dict(lineage or {}), default=str).decode(),
                    tags_json=_dumps(dict(tags or {})),
                )
                .returning(t.runs.c.pk)
            ).scalar_one()
            if tags:
                conn.execute(t.tags.insert(), [{"run_pk": pk, "key": k, "value": v} for k, v in tags.items()])

        try:
            self._write(write)
        except IntegrityError as exc:
            raise AlreadyExistsError(f"run {run_id!r} already exists") from exc
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> RunRecord:
        def read(conn: Connection) -> RunRecord:
            row = conn.execute(sa.select(*_RUN_COLUMNS).where(t.runs.c.id == run_id)).first()
            if row is None:
                raise NotFoundError(f"run {run_id!r} not found")
            return _record(row)

        return self._read(read)

    def set_run_status(
        self, run_id: str, status: RunStatus, end_time: int | None = None, error: str | None = None
    ) -> RunRecord:
        def write(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            done = conn.execute(
                t.runs.update()
                .where(t.runs.c.pk == pk, t.runs.c.status == RunStatus.RUNNING.value)
                .values(status=status.value, end_time=end_time, error=error)
            ).rowcount
            if not done:
                current = conn.execute(sa.select(t.runs.c.status).where(t.runs.c.pk == pk)).scalar()
                raise ConflictError(
                    f"run {run_id} already ended as {current}; it cannot become {status.value}"
                )

        self._write(write)
        return self.get_run(run_id)

    def heartbeat(self, run_id: str, at: int) -> None:
        def write(conn: Connection) -> None:
            conn.execute(t.runs.update().where(t.runs.c.pk == self._pk(conn, run_id)).values(heartbeat_at=at))

        self._write(write)

    def find_stale_runs(self, heartbeat_before: int) -> list[RunRecord]:
        last_seen = sa.func.coalesce(t.runs.c.heartbeat_at, t.runs.c.start_time)
        query = (
            sa.select(*_RUN_COLUMNS)
            .where(t.runs.c.status == RunStatus.RUNNING.value, last_seen < heartbeat_before)
            .order_by(t.runs.c.start_time)
        )
        return self._read(lambda conn: [_record(r) for r in conn.execute(query)])

    # -- params, tags --------------------------------------------------------------
    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        def write(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            existing = dict(
                conn.execute(
                    sa.select(t.params.c.key, t.params.c.value).where(
                        t.params.c.run_pk == pk, t.params.c.key.in_(list(params))
                    )
                ).all()
            )
            for key, value in params.items():
                if key in existing and existing[key] != value:
                    raise ConflictError(
                        f"param {key!r} of run {run_id} is already {existing[key]!r}; params are "
                        f"immutable, so it cannot become {value!r} (log it under another key)"
                    )
            new = {k: v for k, v in params.items() if k not in existing}
            if new:
                conn.execute(
                    t.params.insert(), [{"run_pk": pk, "key": k, "value": v} for k, v in new.items()]
                )
                _merge_json(conn, pk, t.runs.c.params_json, new)

        self._write(write)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        def write(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            conn.execute(t.tags.delete().where(t.tags.c.run_pk == pk, t.tags.c.key.in_(list(tags))))
            conn.execute(t.tags.insert(), [{"run_pk": pk, "key": k, "value": v} for k, v in tags.items()])
            _merge_json(conn, pk, t.runs.c.tags_json, dict(tags))

        self._write(write)

    # -- metrics -------------------------------------------------------------------
    def log_metrics(self, run_id: str, metrics: Sequence[MetricRow]) -> None:
        if not metrics:
            return
        chunks, points = pack_chunks(metrics)
        latest = [(k, None if v != v else v, s, ts) for k, v, s, ts in points]

        def write(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            conn.execute(t.metric_chunks.insert(), [{"run_pk": pk, **chunk} for chunk in chunks])
            conn.exec_driver_sql(_upsert_latest(self.is_sqlite), [(pk, *row) for row in latest])
            lm = t.latest_metrics
            now = conn.execute(
                sa.select(lm.c.key, lm.c.value).where(
                    lm.c.run_pk == pk, lm.c.key.in_([row[0] for row in latest])
                )
            ).all()
            _merge_json(conn, pk, t.runs.c.metrics_json, {k: _encode_float(v) for k, v in now})

        self._write(write)

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        c = t.metric_chunks

        def read(conn: Connection) -> list[tuple[bytes, bytes, bytes]]:
            pk = self._pk(conn, run_id)
            query = sa.select(c.c.steps, c.c.timestamps, c.c.vals).where(c.c.run_pk == pk, c.c.key == key)
            return [(r[0], r[1], r[2]) for r in conn.execute(query.order_by(c.c.id))]

        return unpack_chunks(key, self._read(read))

    # -- search --------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter: Expr | None,
        order_by: Sequence[OrderBy],
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[RunRecord]:
        query = build_search(_RUN_COLUMNS, experiment_ids, filter, order_by, self.is_sqlite)
        query = query.limit(max_results).offset(offset)
        return self._read(lambda conn: [_record(r) for r in conn.execute(query)])

    # -- artifacts -----------------------------------------------------------------
    def log_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        def write(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            paths = [a.path for a in artifacts]
            conn.execute(
                t.artifacts.delete().where(t.artifacts.c.run_pk == pk, t.artifacts.c.path.in_(paths))
            )
            conn.execute(
                t.artifacts.insert(),
                [{"run_pk": pk, "path": a.path, "digest": a.digest, "size": a.size} for a in artifacts],
            )

        if artifacts:
            self._write(write)

    def artifact_digests(self) -> set[str]:
        query = sa.select(t.artifacts.c.digest).distinct()
        return self._read(lambda conn: set(conn.execute(query).scalars()))

    def log_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        def write(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            ri = t.run_inputs
            have = set(
                conn.execute(sa.select(ri.c.kind, ri.c.ref, ri.c.context).where(ri.c.run_pk == pk)).all()
            )
            new = {(i.kind, i.ref, i.context): i for i in inputs if (i.kind, i.ref, i.context) not in have}
            if new:
                conn.execute(
                    ri.insert(),
                    [
                        {
                            "run_pk": pk,
                            "kind": i.kind,
                            "ref": i.ref,
                            "context": i.context,
                            "digest": i.digest,
                            "created_at": i.created_at,
                        }
                        for i in new.values()
                    ],
                )

        if inputs:
            self._write(write)

    def list_inputs(self, run_id: str) -> list[RunInput]:
        def read(conn: Connection) -> list[RunInput]:
            ri = t.run_inputs
            query = (
                sa.select(ri.c.kind, ri.c.ref, ri.c.digest, ri.c.context, ri.c.created_at)
                .where(ri.c.run_pk == self._pk(conn, run_id))
                .order_by(ri.c.kind, ri.c.ref, ri.c.context)
            )
            return [
                RunInput(kind, ref, digest, context, at)
                for kind, ref, digest, context, at in conn.execute(query)
            ]

        return self._read(read)

    def record_runs(self, experiment_id: str, runs: Sequence[CompletedRun]) -> None:
        """All the runs in one transaction: a few multi-row inserts, whatever their number."""
        if not runs:
            return

        def write(conn: Connection) -> None:
            known = sa.select(t.experiments.c.id).where(t.experiments.c.id == experiment_id)
            if conn.execute(known).first() is None:
                raise NotFoundError(f"experiment {experiment_id!r} not found")
            inserted = conn.execute(
                t.runs.insert().returning(t.runs.c.id, t.runs.c.pk, sort_by_parameter_order=True),
                [_completed_row(run, experiment_id) for run in runs],
            )
            pks = {run_id: pk for run_id, pk in inserted}
            children: dict[sa.Table, list[dict[str, Any]]] = {t.params: [], t.tags: [], t.artifacts: []}
            children[t.run_inputs] = []
            for run in runs:
                pk = pks[run.id]
                children[t.params] += [{"run_pk": pk, "key": k, "value": v} for k, v in run.params.items()]
                children[t.tags] += [{"run_pk": pk, "key": k, "value": v} for k, v in run.tags.items()]
                children[t.artifacts] += [
                    {"run_pk": pk, "path": a.path, "digest": a.digest, "size": a.size}
                    for a in {a.path: a for a in run.artifacts}.values()
                ]
                children[t.run_inputs] += [
                    {"run_pk": pk, "kind": i.kind, "ref": i.ref, "context": i.context}
                    | {"digest": i.digest, "created_at": i.created_at}
                    for i in {(i.kind, i.ref, i.context): i for i in run.inputs}.values()
                ]
            for table, rows in children.items():
                if rows:
                    conn.execute(table.insert(), rows)

        try:
            self._write(write)
        except IntegrityError as exc:
            raise AlreadyExistsError(f"cannot record {len(runs)} runs: a run id already exists") from exc

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        def read(conn: Connection) -> list[Artifact]:
            a = t.artifacts
            rows = conn.execute(
                sa.select(a.c.path, a.c.digest, a.c.size)
                .where(a.c.run_pk == self._pk(conn, run_id))
                .order_by(a.c.path)
            )
            return [Artifact(path, digest, size) for path, digest, size in rows]

        return self._read(read)


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _encode_float(value: float | None) -> float | str:
    """JSON has no NaN or inf: spell them as strings (a NULL value is NaN)."""
    if value is None or value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _record(r: Any) -> RunRecord:
    """A RunRecord from a run row; params, tags and latest metrics come from their JSON copies."""
    metrics = {
        k: _NON_FINITE[v] if isinstance(v, str) else v for k, v in orjson.loads(r.metrics_json).items()
    }
    return RunRecord(
        id=r.id,
        experiment_id=r.experiment_id,
        name=r.name,
        status=RunStatus(r.status),
        start_time=r.start_time,
        end_time=r.end_time,
        heartbeat_at=r.heartbeat_at,
        error=r.error,
        lineage=orjson.loads(r.lineage),
        params=orjson.loads(r.params_json),
        tags=orjson.loads(r.tags_json),
        metrics=metrics,
    )


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _merge_json(conn: Connection, pk: int, column: Any, changes: Mapping[str, Any]) -> None:
    """Merge ``changes`` into a run's JSON copy (inside the caller's write transaction)."""
    current = orjson.loads(conn.execute(sa.select(column).where(t.runs.c.pk == pk)).scalar_one())
    current.update(changes)
    conn.execute(t.runs.update().where(t.runs.c.pk == pk).values({column.name: _dumps(current)}))


def _completed_row(run: CompletedRun, experiment_id: str) -> dict[str, Any]:
    return {
        "id": run.id,
        "experiment_id": experiment_id,
        "name": run.name,
        "status": run.status.value,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "error": run.error,
        "lineage": orjson.dumps(run.lineage, default=str).decode(),
        "params_json": _dumps(run.params),
        "tags_json": _dumps(run.tags),
    }


def _experiment(row: Any) -> Experiment:
    return Experiment(row.id, row.name, row.created_at, orjson.loads(row.tags))


def _upsert_latest(is_sqlite: bool) -> str:
    mark = "?" if is_sqlite else "%s"
    marks = ", ".join([mark] * 5)
    return (
        f"INSERT INTO latest_metrics (run_pk, key, value, step, timestamp) VALUES ({marks}) "
        "ON CONFLICT (run_pk, key) DO UPDATE SET value = excluded.value, step = excluded.step, "
        "timestamp = excluded.timestamp WHERE excluded.step > latest_metrics.step OR "
        "(excluded.step = latest_metrics.step AND excluded.timestamp >= latest_metrics.timestamp)"
    )
