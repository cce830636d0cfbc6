"""Datasets on SQLite or PostgreSQL (SQLAlchemy Core on the ``datasets`` and
``dataset_versions`` tables).

A new version's number is decided inside its write transaction: SQLite runs every
write under ``BEGIN IMMEDIATE`` (one writer at a time), PostgreSQL locks the dataset
row (``SELECT ... FOR UPDATE``), so concurrent adds queue instead of colliding; the
unique ``(dataset_id, version)`` constraint is the last line of defence.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.datasets.models import Dataset, DatasetVersion, FileEntry
from shipyard.datasets.store.base import DatasetStore
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore

T = TypeVar("T")
D, V = t.datasets, t.dataset_versions
_VERSION_QUERY = sa.select(V, D.c.name).join(D, D.c.id == V.c.dataset_id)


class SqlDatasetStore(SqlStore, DatasetStore):
    """Dataset store on a SQL database chosen by URI (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    # -- writes ----------------------------------------------------------------------
    def create_version(self, draft: DatasetVersion, dataset_id: str) -> DatasetVersion:
        def write(conn: Connection) -> tuple[int, bool]:
            ds_id = self._lock_dataset(conn, draft.name, dataset_id, draft.created_at)
            latest = conn.execute(
                sa.select(V.c.version, V.c.digest)
                .where(V.c.dataset_id == ds_id)
                .order_by(V.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.digest == draft.digest:
                return int(latest.version), False
            number = 1 if latest is None else int(latest.version) + 1
            conn.execute(V.insert().values(**_row(draft, ds_id, number)))
            return number, True

        try:
            number, created = self._write(write)
        except IntegrityError as exc:
            raise AlreadyExistsError(
                f"cannot record a version of dataset {draft.name!r}: id {draft.id!r} or its number exists"
            ) from exc
        if not created:
            return self.get_version(draft.name, number)
        # What get_version would read back, without parsing the manifest just written again.
        return dataclasses.replace(
            draft,
            version=number,
            schema=orjson.loads(_dumps(draft.schema)),
            profile=orjson.loads(_dumps(draft.profile)),
        )

    def _lock_dataset(self, conn: Connection, name: str, dataset_id: str, created_at: int) -> str:
        """The dataset's id, creating its row if new; on PostgreSQL the row stays locked."""
        values = {"id": dataset_id, "name": name, "created_at": created_at}
        # Imported here: a dialect package is slow to import, and a command needs only one.
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            insert: Any = sqlite_insert(D).values(**values)
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            insert = pg_insert(D).values(**values)
        conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
        query = sa.select(D.c.id).where(D.c.name == name)
        if not self.is_sqlite:
            query = query.with_for_update()
        return str(conn.execute(query).scalar_one())

    # -- reads -----------------------------------------------------------------------
    def get_dataset(self, name: str) -> Dataset:
        row = self._read(lambda conn: conn.execute(sa.select(D).where(D.c.name == name)).first())
        if row is None:
            raise NotFoundError(f"dataset {name!r} not found")
        return Dataset(row.id, row.name, row.created_at)

    def list_datasets(self, limit: int = 1000, offset: int = 0) -> list[Dataset]:
        query = sa.select(D).order_by(D.c.name).limit(limit).offset(offset)
        rows = self._read(lambda conn: conn.execute(query).all())
        return [Dataset(r.id, r.name, r.created_at) for r in rows]

    def get_version(self, name: str, version: int) -> DatasetVersion:
        query = _VERSION_QUERY.where(D.c.name == name, V.c.version == version)
        row = self._read(lambda conn: conn.execute(query).first())
        if row is None:
            self.get_dataset(name)
            raise NotFoundError(f"dataset {name!r} has no version {version}")
        return _version(row)

    def find_latest_version(self, name: str) -> DatasetVersion | None:
        query = _VERSION_QUERY.where(D.c.name == name).order_by(V.c.version.desc()).limit(1)
        row = self._read(lambda conn: conn.execute(query).first())
        return None if row is None else _version(row)

    def find_version_by_digest(self, name: str, digest: str) -> DatasetVersion | None:
        query = (
            _VERSION_QUERY.where(D.c.name == name, V.c.digest == digest).order_by(V.c.version.desc()).limit(1)
        )
        row = self._read(lambda conn: conn.execute(query).first())
        return None if row is None else _version(row)

    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[DatasetVersion]:
        dataset = self.get_dataset(name)
        query = (
            _VERSION_QUERY.where(V.c.dataset_id == dataset.id)
            .order_by(V.c.version)
            .limit(limit)
            .offset(offset)
        )
        return [_version(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def referenced_digests(self) -> set[str]:
        def read(conn: Connection) -> set[str]:
            found: set[str] = set()
            for (manifest,) in conn.execute(sa.select(V.c.manifest)):
                found.update(entry[1] for entry in orjson.loads(manifest))
            return found

        return self._read(read)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


def _row(draft: DatasetVersion, dataset_id: str, number: int) -> dict[str, Any]:
    # Not dataclasses.asdict: it would deep-copy every FileEntry of a 20,000-file manifest.
    skipped = {"name", "files", "schema", "profile"}
    fields = {f.name: getattr(draft, f.name) for f in dataclasses.fields(draft) if f.name not in skipped}
    return {
        **fields,
        "dataset_id": dataset_id,
        "version": number,
        "file_count": len(draft.files),
        "manifest": _dumps([[f.path, f.digest, f.size] for f in draft.files]),
        "schema": _dumps(draft.schema),
        "profile": _dumps(draft.profile),
    }


def _version(row: Any) -> DatasetVersion:
    return DatasetVersion(
        id=row.id,
        name=row.name,
        version=row.version,
        digest=row.digest,
        created_at=row.created_at,
        kind=row.kind,
        files=tuple(FileEntry(p, d, s) for p, d, s in orjson.loads(row.manifest)),
        size=row.size,
        message=row.message,
        created_by=row.created_by,
        source_path=row.source_path,
        row_count=row.row_count,
        schema=orjson.loads(row.schema) if row.schema else {},
        profile=orjson.loads(row.profile) if row.profile else {},
    )
