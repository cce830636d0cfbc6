"""Datasets in the embedded SQLite database, through the standard ``sqlite3`` module.

:class:`~shipyard.datasets.store.sql.SqlDatasetStore` (SQLAlchemy) is the store of the
embedded database, and the only one that creates or upgrades its schema. Importing
SQLAlchemy alone takes longer than adding a folder of 20,000 files, so the lean
``shipyard data add`` (:mod:`shipyard.cli.data_lean`) writes through this store instead:
the same tables and rows, the same rules (a write runs under ``BEGIN IMMEDIATE``, so
writers queue, and a new version's number is decided inside it), the same errors.

It opens only a database whose schema is at the newest revision this Shipyard knows
(:class:`~shipyard.db.lite.LiteDatabase`; :func:`open_sqlite_store` gives None otherwise,
and the caller takes the SQLAlchemy store, which upgrades it or says what to do).
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from shipyard.core.errors import AlreadyExistsError, BackendUnavailable, NotFoundError
from shipyard.datasets.models import Dataset, DatasetVersion, FileEntry
from shipyard.datasets.store import sqlite_path
from shipyard.datasets.store.base import DatasetStore
from shipyard.db.lite import LiteDatabase

T = TypeVar("T")
_COLUMNS = (
    "id, dataset_id, version, digest, message, created_at, created_by, source_path, kind, "
    "file_count, size, manifest, schema, row_count, profile"
)
_INSERT = f"INSERT INTO dataset_versions ({_COLUMNS}) VALUES ({', '.join('?' * 15)})"
_VERSIONS = (
    "SELECT v.id, d.name, v.version, v.digest, v.created_at, v.kind, v.manifest, v.size, v.message, "
    "v.created_by, v.source_path, v.row_count, v.schema, v.profile "
    "FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id"
)


def open_sqlite_store(uri: str) -> SqliteDatasetStore | None:
    """The store of an existing embedded database at the newest schema revision, else None."""
    path = sqlite_path(uri)
    if path is None or not os.path.isfile(path):  # noqa: PTH113
        return None
    try:
        return SqliteDatasetStore(LiteDatabase(path))
    except BackendUnavailable:
        return None


class SqliteDatasetStore(DatasetStore):
    """Dataset store on an embedded SQLite database opened with :class:`~shipyard.db.lite.LiteDatabase`."""

    def __init__(self, database: LiteDatabase) -> None:
        self.database = database

    def close(self) -> None:
        self.database.close()

    def _run(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        return self.database.run(fn, write=write)

    # -- writes ----------------------------------------------------------------------
    def create_version(self, draft: DatasetVersion, dataset_id: str) -> DatasetVersion:
        def write(conn: sqlite3.Connection) -> tuple[int, bool]:
            conn.execute(
                "INSERT INTO datasets (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (dataset_id, draft.name, draft.created_at),
            )
            ds_id = conn.execute("SELECT id FROM datasets WHERE name = ?", (draft.name,)).fetchone()[0]
            latest = conn.execute(
                "SELECT version, digest FROM dataset_versions WHERE dataset_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (ds_id,),
            ).fetchone()
            if latest is not None and latest[1] == draft.digest:
                return int(latest[0]), False
            number = 1 if latest is None else int(latest[0]) + 1
            conn.execute(_INSERT, _row(draft, ds_id, number))
            return number, True

        try:
            number, created = self._run(write, write=True)
        except sqlite3.IntegrityError as exc:
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

    # -- reads -----------------------------------------------------------------------
    def _rows(self, query: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return self._run(lambda conn: conn.execute(query, args).fetchall())

    def get_dataset(self, name: str) -> Dataset:
        rows = self._rows("SELECT id, name, created_at FROM datasets WHERE name = ?", (name,))
        if not rows:
            raise NotFoundError(f"dataset {name!r} not found")
        return Dataset(*rows[0])

    def list_datasets(self, limit: int = 1000, offset: int = 0) -> list[Dataset]:
        rows = self._rows(
            "SELECT id, name, created_at FROM datasets ORDER BY name LIMIT ? OFFSET ?", (limit, offset)
        )
        return [Dataset(*row) for row in rows]

    def get_version(self, name: str, version: int) -> DatasetVersion:
        rows = self._rows(f"{_VERSIONS} WHERE d.name = ? AND v.version = ?", (name, version))
        if not rows:
            self.get_dataset(name)
            raise NotFoundError(f"dataset {name!r} has no version {version}")
        return _version(rows[0])

    def find_latest_version(self, name: str) -> DatasetVersion | None:
        rows = self._rows(f"{_VERSIONS} WHERE d.name = ? ORDER BY v.version DESC LIMIT 1", (name,))
        return _version(rows[0]) if rows else None

    def find_version_by_digest(self, name: str, digest: str) -> DatasetVersion | None:
        query = f"{_VERSIONS} WHERE d.name = ? AND v.digest = ? ORDER BY v.version DESC LIMIT 1"
        rows = self._rows(query, (name, digest))
        return _version(rows[0]) if rows else None

    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[DatasetVersion]:
        dataset = self.get_dataset(name)
        query = f"{_VERSIONS} WHERE v.dataset_id = ? ORDER BY v.version LIMIT ? OFFSET ?"
        return [_version(row) for row in self._rows(query, (dataset.id, limit, offset))]

    def referenced_digests(self) -> set[str]:
        found: set[str] = set()
        for (manifest,) in self._rows("SELECT manifest FROM dataset_versions"):
            found.update(entry[1] for entry in orjson.loads(manifest))
        return found


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


def _row(draft: DatasetVersion, dataset_id: str, number: int) -> tuple[Any, ...]:
    """The ``dataset_versions`` row of ``draft``, columns in the order of :data:`_COLUMNS`."""
    manifest = _dumps([[f.path, f.digest, f.size] for f in draft.files])
    return (
        draft.id,
        dataset_id,
        number,
        draft.digest,
        draft.message,
        draft.created_at,
        draft.created_by,
        draft.source_path,
        draft.kind,
        len(draft.files),
        draft.size,
        manifest,
        _dumps(draft.schema),
        draft.row_count,
        _dumps(draft.profile),
    )


def _version(row: Any) -> DatasetVersion:
    (
        id_,
        name,
        version,
        digest,
        created_at,
        kind,
        manifest,
        size,
        message,
        created_by,
        source,
        rows,
        schema,
        profile,
    ) = row
    return DatasetVersion(
        id=id_,
        name=name,
        version=version,
        digest=digest,
        created_at=created_at,
        kind=kind,
        files=tuple(FileEntry(p, d, s) for p, d, s in orjson.loads(manifest)),
        size=size,
        message=message,
        created_by=created_by,
        source_path=source,
        row_count=rows,
        schema=orjson.loads(schema) if schema else {},
        profile=orjson.loads(profile) if profile else {},
    )
