"""The serving store on SQLite or PostgreSQL (SQLAlchemy Core on the tables of migration 0006).

Spec versions come from ``deployments.latest_version``, bumped in the transaction that
inserts the spec (SQLite writes one transaction at a time under ``BEGIN IMMEDIATE``;
PostgreSQL locks the deployment row with ``SELECT ... FOR UPDATE``), so two concurrent
deploys never get the same number. Labels and route statuses are upserted
(``INSERT ... ON CONFLICT DO UPDATE``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.serving.models import Batching, DeploymentSpec, Label, PredictionSegment, Route, RouteStatus
from shipyard.serving.store.base import ServingStore

D, S, RS = t.deployments, t.deployment_specs, t.route_status
SEG, LAB = t.prediction_segments, t.prediction_labels
CHUNK = 500  # request ids per IN (...) query


class SqlServingStore(SqlStore, ServingStore):
    """Serving store on a SQL database chosen by URI (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    # -- specs ----------------------------------------------------------------------
    def create_spec(self, draft: DeploymentSpec, expected_version: int | None = None) -> DeploymentSpec:
        def write(conn: Connection) -> int:
            current = self._lock_deployment(conn, draft)
            if expected_version is not None and expected_version != current:
                raise ConflictError(
                    f"deployment {draft.name!r} is at version {current}, not {expected_version}: "
                    "it was changed meanwhile; try again",
                    details={"current": current, "expected": expected_version},
                )
            number = current + 1
            conn.execute(
                D.update().where(D.c.name == draft.name).values(latest_version=number, deleted_at=None)
            )
            conn.execute(S.insert().values(**_spec_row(draft, number)))
            return number

        return self.get_spec(draft.name, self._write(write))

    def _lock_deployment(self, conn: Connection, draft: DeploymentSpec) -> int:
        """The deployment's latest version, creating its row if new; on PostgreSQL the row stays locked."""
        values = {
            "name": draft.name,
            "created_at": draft.created_at,
            "created_by": draft.created_by,
            "latest_version": 0,
        }
        conn.execute(self._insert(D, values).on_conflict_do_nothing(index_elements=["name"]))
        query = sa.select(D.c.latest_version).where(D.c.name == draft.name)
        if not self.is_sqlite:
            query = query.with_for_update()
        return int(conn.execute(query).scalar_one())

    def _insert(self, table: sa.Table, values: Any) -> Any:
        """An ``INSERT`` that can take ``ON CONFLICT`` in this database's dialect."""
        # Imported here: a dialect package is slow to import, and a command needs only one.
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).values(values)
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(values)

    def get_spec(self, name: str, version: int | None = None) -> DeploymentSpec:
        def read(conn: Connection) -> Any:
            head = conn.execute(sa.select(D).where(D.c.name == name)).first()
            if head is None:
                raise NotFoundError(f"deployment {name!r} not found")
            if version is None and head.deleted_at is not None:
                raise NotFoundError(
                    f"deployment {name!r} was undeployed; its history remains "
                    f"(shipyard deployments history {name})"
                )
            number = head.latest_version if version is None else version
            row = conn.execute(sa.select(S).where(S.c.deployment == name, S.c.version == number)).first()
            if row is None:
                raise NotFoundError(
                    f"deployment {name!r} has no version {number} (latest: {head.latest_version})"
                )
            return row

        return _spec(self._read(read))

    def list_specs(self, limit: int = 1000, offset: int = 0) -> list[DeploymentSpec]:
        query = (
            sa.select(S)
            .join(D, sa.and_(D.c.name == S.c.deployment, D.c.latest_version == S.c.version))
            .where(D.c.deleted_at.is_(None))
            .order_by(D.c.name)
            .limit(limit)
            .offset(offset)
        )
        return [_spec(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def list_history(self, name: str) -> list[DeploymentSpec]:
        query = sa.select(S).where(S.c.deployment == name).order_by(S.c.version)
        rows = self._read(lambda conn: conn.execute(query).all())
        if not rows:
            raise NotFoundError(f"deployment {name!r} not found")
        return [_spec(r) for r in rows]

    def delete_deployment(self, name: str, at: int) -> None:
        def write(conn: Connection) -> None:
            done = conn.execute(
                D.update().where(D.c.name == name, D.c.deleted_at.is_(None)).values(deleted_at=at)
            )
            if done.rowcount == 0:
                raise NotFoundError(f"deployment {name!r} not found (or already undeployed)")
            conn.execute(RS.delete().where(RS.c.deployment == name))

        self._write(write)

    # -- route statuses -------------------------------------------------------------
    def set_status(self, name: str, status: RouteStatus) -> None:
        values = {"deployment": name, **status.to_dict()}

        def write(conn: Connection) -> None:
            live = conn.execute(sa.select(D.c.name).where(D.c.name == name, D.c.deleted_at.is_(None))).first()
            if live is None:
                raise NotFoundError(f"deployment {name!r} not found")
            kept = {k: v for k, v in values.items() if k not in ("deployment", "route")}
            statement = self._insert(RS, values)
            conn.execute(statement.on_conflict_do_update(index_elements=["deployment", "route"], set_=kept))

        self._write(write)

    def list_statuses(self, name: str) -> list[RouteStatus]:
        query = sa.select(RS).where(RS.c.deployment == name).order_by(RS.c.route)
        rows = self._read(lambda conn: conn.execute(query).all())
        return [RouteStatus(r.route, r.model_version, r.state, r.error, r.updated_at) for r in rows]

    # -- the prediction log's index -------------------------------------------------
    def add_segment(self, segment: PredictionSegment) -> None:
        try:
            self._write(lambda conn: conn.execute(SEG.insert().values(**segment.to_dict())))
        except IntegrityError as exc:
            raise AlreadyExistsError(f"prediction segment {segment.id!r} already exists") from exc

    def list_segments(
        self, deployment: str | None = None, start: int | None = None, end: int | None = None
    ) -> list[PredictionSegment]:
        query = sa.select(SEG).order_by(SEG.c.min_ts, SEG.c.id)
        if deployment is not None:
            query = query.where(SEG.c.deployment == deployment)
        if start is not None:
            query = query.where(SEG.c.max_ts >= start)
        if end is not None:
            query = query.where(SEG.c.min_ts < end)
        rows = self._read(lambda conn: conn.execute(query).all())
        return [PredictionSegment(**r._asdict()) for r in rows]

    # -- feedback -------------------------------------------------------------------
    def save_labels(self, labels: Sequence[Label]) -> None:
        rows = {label.request_id: _label_row(label) for label in labels}  # the last one of an id wins
        if not rows:
            return

        def write(conn: Connection) -> None:
            statement = self._insert(LAB, list(rows.values()))
            kept = {c: statement.excluded[c] for c in ("deployment", "label", "ts", "recorded_at")}
            conn.execute(statement.on_conflict_do_update(index_elements=["request_id"], set_=kept))

        self._write(write)

    def find_labels(self, request_ids: Sequence[str]) -> list[Label]:
        ids = sorted(set(request_ids))

        def read(conn: Connection) -> list[Any]:
            rows: list[Any] = []
            for i in range(0, len(ids), CHUNK):
                chunk = ids[i : i + CHUNK]
                rows += conn.execute(sa.select(LAB).where(LAB.c.request_id.in_(chunk))).all()
            return rows

        return sorted((_label(r) for r in self._read(read)), key=lambda label: label.request_id)

    def list_labels(self, deployment: str) -> list[Label]:
        query = sa.select(LAB).where(LAB.c.deployment == deployment).order_by(LAB.c.request_id)
        return [_label(r) for r in self._read(lambda conn: conn.execute(query).all())]


def _spec_row(draft: DeploymentSpec, number: int) -> dict[str, Any]:
    return {
        "deployment": draft.name,
        "version": number,
        "spec": orjson.dumps(draft.content(), option=orjson.OPT_SORT_KEYS).decode(),
        "created_at": draft.created_at,
        "created_by": draft.created_by,
        "reason": draft.reason,
    }


def _spec(row: Any) -> DeploymentSpec:
    content = orjson.loads(row.spec)
    batching = content.get("batching")
    return DeploymentSpec(
        name=row.deployment,
        version=row.version,
        routes=[Route.from_dict(r) for r in content["routes"]],
        features=content.get("features"),
        batching=None if batching is None else Batching.from_dict(batching),
        routing_key=content.get("routing_key"),
        created_at=row.created_at,
        created_by=row.created_by,
        reason=row.reason,
    )


def _label_row(label: Label) -> dict[str, Any]:
    values = dataclasses.asdict(label)
    values["label"] = orjson.dumps(label.label).decode()
    return values


def _label(row: Any) -> Label:
    return Label(row.request_id, row.deployment, orjson.loads(row.label), row.ts, row.recorded_at)
