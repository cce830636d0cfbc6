"""The feature registry on SQLite or PostgreSQL (the ``feature_definitions`` and
``feature_watermarks`` tables).

A new version's number is decided inside its write transaction (SQLite runs every
write under ``BEGIN IMMEDIATE``); two PostgreSQL writers that pick the same number
collide on the unique ``(kind, name, version)`` constraint, and the loser tries again
on a fresh transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.features.models import Definition, Watermark, label
from shipyard.features.store.base import FeatureRegistryStore

D, W = t.feature_definitions, t.feature_watermarks
ATTEMPTS = 3


class SqlFeatureRegistryStore(SqlStore, FeatureRegistryStore):
    """Feature registry on a SQL database chosen by URI (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    def create_definition(self, draft: Definition, expected_version: int | None = None) -> Definition:
        def write(conn: Connection) -> tuple[int, bool]:
            latest = conn.execute(
                sa.select(D.c.version, D.c.digest)
                .where(D.c.kind == draft.kind, D.c.name == draft.name)
                .order_by(D.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.digest == draft.digest:
                return int(latest.version), False
            current = 0 if latest is None else int(latest.version)
            if expected_version is not None and expected_version != current:
                raise ConflictError(
                    f"{label(draft.kind)} {draft.name!r} is at version {current}, not {expected_version}: "
                    "it was changed meanwhile; apply again"
                )
            conn.execute(D.insert().values(**_row(draft, current + 1)))
            return current + 1, True

        for attempt in range(ATTEMPTS):
            try:
                number, _ = self._write(write)
                break
            except IntegrityError as exc:
                if self._id_taken(draft.id):
                    raise AlreadyExistsError(f"definition id {draft.id!r} already exists") from exc
                if attempt + 1 == ATTEMPTS:
                    raise ConflictError(
                        f"{label(draft.kind)} {draft.name!r} is being changed concurrently; apply again"
                    ) from exc
        return self.get_definition(draft.kind, draft.name, number)

    def _id_taken(self, definition_id: str) -> bool:
        query = sa.select(D.c.id).where(D.c.id == definition_id)
        return self._read(lambda conn: conn.execute(query).first()) is not None

    def get_definition(self, kind: str, name: str, version: int) -> Definition:
        query = sa.select(D).where(D.c.kind == kind, D.c.name == name, D.c.version == version)
        row = self._read(lambda conn: conn.execute(query).first())
        if row is None:
            latest = self.find_latest(kind, name)
            if latest is None:
                raise NotFoundError(f"{label(kind)} {name!r} not found")
            raise NotFoundError(f"{label(kind)} {name!r} has no version {version} (latest: {latest.version})")
        return _definition(row)

    def find_latest(self, kind: str, name: str) -> Definition | None:
        query = sa.select(D).where(D.c.kind == kind, D.c.name == name).order_by(D.c.version.desc()).limit(1)
        row = self._read(lambda conn: conn.execute(query).first())
        return None if row is None else _definition(row)

    def list_definitions(
        self, kind: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[Definition]:
        newest = (
            sa.select(D.c.kind, D.c.name, sa.func.max(D.c.version).label("version"))
            .group_by(D.c.kind, D.c.name)
            .subquery()
        )
        query = sa.select(D).join(
            newest,
            sa.and_(D.c.kind == newest.c.kind, D.c.name == newest.c.name, D.c.version == newest.c.version),
        )
        if kind is not None:
            query = query.where(D.c.kind == kind)
        query = query.order_by(D.c.kind, D.c.name).limit(limit).offset(offset)
        return [_definition(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def list_versions(self, kind: str, name: str) -> list[Definition]:
        query = sa.select(D).where(D.c.kind == kind, D.c.name == name).order_by(D.c.version)
        rows = self._read(lambda conn: conn.execute(query).all())
        if not rows:
            raise NotFoundError(f"{label(kind)} {name!r} not found")
        return [_definition(r) for r in rows]

    def set_watermark(self, watermark: Watermark) -> None:
        values = dataclasses.asdict(watermark)

        def write(conn: Connection) -> None:
            conn.execute(W.delete().where(W.c.view == watermark.view))
            conn.execute(W.insert().values(**values))

        self._write(write)

    def find_watermark(self, view: str) -> Watermark | None:
        row = self._read(lambda conn: conn.execute(sa.select(W).where(W.c.view == view)).first())
        return None if row is None else Watermark(**row._asdict())

    def list_watermarks(self) -> list[Watermark]:
        rows = self._read(lambda conn: conn.execute(sa.select(W).order_by(W.c.view)).all())
        return [Watermark(**r._asdict()) for r in rows]


def _row(draft: Definition, number: int) -> dict[str, Any]:
    return {
        "id": draft.id,
        "kind": draft.kind,
        "name": draft.name,
        "version": number,
        "digest": draft.digest,
        "spec": orjson.dumps(draft.spec, option=orjson.OPT_SORT_KEYS).decode(),
        "created_at": draft.created_at,
        "created_by": draft.created_by,
    }


def _definition(row: Any) -> Definition:
    return Definition(
        id=row.id,
        kind=row.kind,
        name=row.name,
        version=row.version,
        digest=row.digest,
        spec=orjson.loads(row.spec),
        created_at=row.created_at,
        created_by=row.created_by,
    )
