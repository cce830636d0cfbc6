"""Validation results on SQLite or PostgreSQL, in the ``validation_results`` table.

The whole result is one JSON document (``result``); the columns beside it
(version id, suite digest, success, time) are what queries filter and sort on.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.validation.models import ValidationResult
from shipyard.validation.store.base import ValidationStore

T = TypeVar("T")
_vr = t.validation_results


class SqlValidationStore(SqlStore, ValidationStore):
    """Validation store on a SQL database chosen by URI (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    def save_result(self, result: ValidationResult) -> str:
        result_id = result.id or new_id()
        document = {**result.to_dict(), "id": result_id}
        row = {
            "id": result_id,
            "dataset_version_id": result.dataset_version_id,
            "data_ref": result.data_ref,
            "suite_name": result.suite_name,
            "suite_digest": result.suite_digest,
            "success": result.success,
            "created_at": result.created_at,
            "result": orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
        }

        def write(conn: Connection) -> None:
            if conn.execute(sa.select(_vr.c.id).where(_vr.c.id == result_id)).first() is not None:
                raise AlreadyExistsError(f"validation result {result_id!r} already exists")
            conn.execute(_vr.insert().values(**row))

        try:
            self._write(write)
        except IntegrityError as exc:
            raise NotFoundError(
                f"cannot store the validation result: dataset version {result.dataset_version_id!r} "
                "does not exist"
            ) from exc
        return result_id

    def list_results(
        self, dataset_version_id: str | None = None, suite_digest: str | None = None, limit: int = 100
    ) -> list[ValidationResult]:
        query = sa.select(_vr.c.result)
        if dataset_version_id is not None:
            query = query.where(_vr.c.dataset_version_id == dataset_version_id)
        if suite_digest is not None:
            query = query.where(_vr.c.suite_digest == suite_digest)
        query = query.order_by(_vr.c.created_at.desc(), _vr.c.id.desc()).limit(limit)
        rows = self._read(lambda conn: conn.execute(query).scalars().all())
        return [_result(text) for text in rows]

    def latest_result(self, dataset_version_id: str, suite_digest: str) -> ValidationResult | None:
        found = self.list_results(dataset_version_id, suite_digest, limit=1)
        return found[0] if found else None


def _result(text: Any) -> ValidationResult:
    return ValidationResult.from_dict(orjson.loads(text))
