"""The registry on SQLite or PostgreSQL (SQLAlchemy Core on the tables of migration 0003).

Version numbers come from ``registered_models.latest_version``, bumped in the
transaction that inserts the version (SQLite writes one transaction at a time under
``BEGIN IMMEDIATE``; PostgreSQL locks the model row with ``SELECT ... FOR UPDATE``).
An alias moves by a conditional ``UPDATE``/``DELETE``/``INSERT`` on its ``aliases``
row that matches only the expected holder: the statement that wins holds the row
until commit, so a concurrent mover of the same alias either waits and then finds
a different holder (a ``ConflictError``) or goes first. The history row is written
in the same transaction, after the row is held, so ``seq`` follows commit order.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.db import tables as t
from shipyard.db.sql_store import SqlStore
from shipyard.registry.models import (
    AliasChange,
    Approval,
    Delivery,
    Evaluation,
    GateSpec,
    ModelVersion,
    Policy,
    RegisteredModel,
    Webhook,
)
from shipyard.registry.store.base import RegistryStore

M, V, A, H = t.registered_models, t.model_versions, t.aliases, t.alias_history
P, AP, E, W, D = t.policies, t.approvals, t.evaluations, t.webhooks, t.webhook_deliveries


class SqlRegistryStore(SqlStore, RegistryStore):
    """Registry store on a SQL database chosen by URI (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    # -- models and versions --------------------------------------------------------
    def create_version(self, draft: ModelVersion) -> ModelVersion:
        def write(conn: Connection) -> int:
            latest = self._lock_model(conn, draft)
            number = latest + 1
            conn.execute(M.update().where(M.c.name == draft.name).values(latest_version=number))
            conn.execute(V.insert().values(**_version_row(draft, number)))
            return number

        try:
            number = self._write(write)
        except IntegrityError as exc:
            raise AlreadyExistsError(f"model version id {draft.id!r} already exists") from exc
        return self.get_version(draft.name, number)

    def _lock_model(self, conn: Connection, draft: ModelVersion) -> int:
        """The model's latest version number, creating its row if new; on PostgreSQL the row stays locked."""
        values = {"name": draft.name, "created_at": draft.created_at, "created_by": draft.created_by}
        conn.execute(self._insert_ignoring(M, values, ["name"]))
        query = sa.select(M.c.latest_version).where(M.c.name == draft.name)
        if not self.is_sqlite:
            query = query.with_for_update()
        return int(conn.execute(query).scalar_one())

    def _insert_ignoring(self, table: sa.Table, values: dict[str, Any], keys: list[str]) -> Any:
        """``INSERT ... ON CONFLICT DO NOTHING`` in this database's dialect."""
        # Imported here: a dialect package is slow to import, and a command needs only one.
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)

    def get_model(self, name: str) -> RegisteredModel:
        row = self._read(lambda conn: conn.execute(sa.select(M).where(M.c.name == name)).first())
        if row is None:
            raise NotFoundError(f"model {name!r} not found")
        return _model(row)

    def list_models(self, limit: int = 1000, offset: int = 0) -> list[RegisteredModel]:
        query = sa.select(M).order_by(M.c.name).limit(limit).offset(offset)
        return [_model(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def update_model(
        self, name: str, description: str | None = None, fields: Mapping[str, str | None] | None = None
    ) -> RegisteredModel:
        def write(conn: Connection) -> None:
            query = sa.select(M.c.fields).where(M.c.name == name)
            current = conn.execute(query if self.is_sqlite else query.with_for_update()).first()
            if current is None:
                raise NotFoundError(f"model {name!r} not found")
            merged = {**orjson.loads(current.fields), **(fields or {})}
            values: dict[str, Any] = {"fields": _dumps({k: v for k, v in merged.items() if v is not None})}
            if description is not None:
                values["description"] = description
            conn.execute(M.update().where(M.c.name == name).values(**values))

        self._write(write)
        return self.get_model(name)

    def get_version(self, name: str, version: int) -> ModelVersion:
        query = sa.select(V).where(V.c.name == name, V.c.version == version)
        row = self._read(lambda conn: conn.execute(query).first())
        if row is None:
            self.get_model(name)
            raise NotFoundError(f"model {name!r} has no version {version}")
        return _version(row)

    def list_versions(self, name: str, limit: int = 1000, offset: int = 0) -> list[ModelVersion]:
        self.get_model(name)
        query = sa.select(V).where(V.c.name == name).order_by(V.c.version).limit(limit).offset(offset)
        return [_version(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def update_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        def write(conn: Connection) -> int:
            where = (V.c.name == name, V.c.version == version)
            return int(conn.execute(V.update().where(*where).values(description=description)).rowcount)

        if self._write(write) == 0:
            self.get_model(name)
            raise NotFoundError(f"model {name!r} has no version {version}")
        return self.get_version(name, version)

    # -- aliases --------------------------------------------------------------------
    def list_aliases(self, name: str) -> dict[str, int]:
        self.get_model(name)
        query = sa.select(A.c.alias, A.c.version).where(A.c.name == name).order_by(A.c.alias)
        return {r.alias: int(r.version) for r in self._read(lambda conn: conn.execute(query).all())}

    def move_alias(
        self, name: str, alias: str, expected_from: int | None, change: AliasChange
    ) -> AliasChange:
        self.get_model(name)
        if change.to_version is not None:
            self.get_version(name, change.to_version)

        def write(conn: Connection) -> AliasChange:
            if not self._compare_and_set(conn, name, alias, expected_from, change):
                current = conn.execute(
                    sa.select(A.c.version).where(A.c.name == name, A.c.alias == alias)
                ).scalar()
                raise ConflictError(
                    f"{name}@{alias} is held by {_holder(current)}, not {_holder(expected_from)}",
                    details={"holder": current},
                )
            last_at = conn.execute(
                sa.select(sa.func.max(H.c.at)).where(H.c.name == name, H.c.alias == alias)
            ).scalar()
            at = max(change.at, int(last_at or 0))
            done = dataclasses.replace(change, name=name, alias=alias, from_version=expected_from, at=at)
            row = {f.name: getattr(done, f.name) for f in dataclasses.fields(done) if f.name != "seq"}
            row["report"] = None if done.report is None else _dumps(done.report)
            key = conn.execute(H.insert().values(**row)).inserted_primary_key
            assert key is not None
            return dataclasses.replace(done, seq=int(key[0]))

        return self._write(write)

    def _compare_and_set(
        self, conn: Connection, name: str, alias: str, expected: int | None, change: AliasChange
    ) -> bool:
        """Point the alias row at ``change.to_version`` if it holds ``expected``; whether it did."""
        key = (A.c.name == name, A.c.alias == alias)
        if expected is None and change.to_version is None:  # emptying an empty alias
            return conn.execute(sa.select(A.c.version).where(*key)).first() is None
        if expected is None:
            values = {"name": name, "alias": alias, "version": change.to_version, "updated_at": change.at}
            # rowcount is not reliable for INSERT ... ON CONFLICT on every driver; RETURNING is.
            inserted = self._insert_ignoring(A, values, ["name", "alias"]).returning(A.c.version)
            return conn.execute(inserted).first() is not None
        elif change.to_version is None:
            done = conn.execute(A.delete().where(*key, A.c.version == expected))
        else:
            update = A.update().where(*key, A.c.version == expected)
            done = conn.execute(update.values(version=change.to_version, updated_at=change.at))
        return bool(done.rowcount == 1)

    def list_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        self.get_model(name)
        query = sa.select(H).where(H.c.name == name).order_by(H.c.seq)
        if alias is not None:
            query = query.where(H.c.alias == alias)
        return [_change(r) for r in self._read(lambda conn: conn.execute(query).all())]

    # -- policies and approvals -----------------------------------------------------
    def set_policy(self, policy: Policy) -> Policy:
        row = {
            "gates": _dumps([g.to_dict() for g in policy.gates]),
            "updated_by": policy.updated_by,
            "updated_at": policy.updated_at,
        }

        def write(conn: Connection) -> None:
            key = (P.c.name == policy.name, P.c.alias == policy.alias)
            if conn.execute(P.update().where(*key).values(**row)).rowcount == 0:
                conn.execute(P.insert().values(name=policy.name, alias=policy.alias, **row))

        self._write(write)
        return policy

    def find_policy(self, name: str, alias: str) -> Policy | None:
        query = sa.select(P).where(P.c.name == name, P.c.alias == alias)
        row = self._read(lambda conn: conn.execute(query).first())
        if row is None:
            return None
        gates = [GateSpec.from_dict(g) for g in orjson.loads(row.gates)]
        return Policy(row.name, row.alias, gates, row.updated_by, row.updated_at)

    def add_approval(self, approval: Approval) -> Approval:
        self.get_version(approval.name, approval.version)
        try:
            self._write(lambda conn: conn.execute(AP.insert().values(**dataclasses.asdict(approval))))
        except IntegrityError as exc:
            key = f"{approval.name}:{approval.version} for {approval.alias!r}"
            raise AlreadyExistsError(f"{approval.user!r} already approved {key}") from exc
        return approval

    def list_approvals(self, name: str, version: int) -> list[Approval]:
        query = sa.select(AP).where(AP.c.name == name, AP.c.version == version).order_by(AP.c.at, AP.c.user)
        rows = self._read(lambda conn: conn.execute(query).all())
        return [Approval(**{f.name: getattr(r, f.name) for f in dataclasses.fields(Approval)}) for r in rows]

    # -- evaluations ----------------------------------------------------------------
    def save_evaluation(self, evaluation: Evaluation) -> Evaluation:
        row: dict[str, Any] = dataclasses.asdict(evaluation)
        for key in _EVALUATION_JSON:
            row[key] = None if row[key] is None else _dumps(row[key])
        try:
            self._write(lambda conn: conn.execute(E.insert().values(**row)))
        except IntegrityError as exc:
            raise AlreadyExistsError(f"evaluation id {evaluation.id!r} already exists") from exc
        return evaluation

    def list_evaluations(self, package_digest: str, dataset_digest: str | None = None) -> list[Evaluation]:
        query = sa.select(E).where(E.c.package_digest == package_digest)
        if dataset_digest is not None:
            query = query.where(E.c.dataset_digest == dataset_digest)
        query = query.order_by(E.c.created_at.desc(), E.c.id.desc())
        return [_evaluation(r) for r in self._read(lambda conn: conn.execute(query).all())]

    # -- webhooks -------------------------------------------------------------------
    def create_webhook(self, webhook: Webhook) -> Webhook:
        row = {**dataclasses.asdict(webhook), "events": _dumps(webhook.events)}
        try:
            self._write(lambda conn: conn.execute(W.insert().values(**row)))
        except IntegrityError as exc:
            raise AlreadyExistsError(f"webhook id {webhook.id!r} already exists") from exc
        return webhook

    def list_webhooks(self) -> list[Webhook]:
        query = sa.select(W).order_by(W.c.created_at, W.c.id)
        return [_webhook(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def delete_webhook(self, webhook_id: str) -> None:
        def write(conn: Connection) -> int:
            conn.execute(D.delete().where(D.c.webhook_id == webhook_id))
            return int(conn.execute(W.delete().where(W.c.id == webhook_id)).rowcount)

        if self._write(write) == 0:
            raise NotFoundError(f"webhook {webhook_id!r} not found")

    def save_delivery(self, delivery: Delivery) -> Delivery:
        row = {**dataclasses.asdict(delivery), "payload": _dumps(delivery.payload)}

        def write(conn: Connection) -> None:
            if conn.execute(sa.select(W.c.id).where(W.c.id == delivery.webhook_id)).first() is None:
                raise NotFoundError(f"webhook {delivery.webhook_id!r} not found")
            if conn.execute(D.update().where(D.c.id == delivery.id).values(**row)).rowcount == 0:
                conn.execute(D.insert().values(**row))

        self._write(write)
        return delivery

    def list_deliveries(self, webhook_id: str | None = None, limit: int = 100) -> list[Delivery]:
        query = sa.select(D).order_by(D.c.created_at.desc(), D.c.id.desc()).limit(limit)
        if webhook_id is not None:
            query = query.where(D.c.webhook_id == webhook_id)
        return [_delivery(r) for r in self._read(lambda conn: conn.execute(query).all())]


_EVALUATION_JSON = ("metrics", "confusion_matrix", "slices", "fairness", "plots")


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


def _holder(version: int | None) -> str:
    return "nobody" if version is None else f"version {version}"


def _fields(cls: Any, row: Any, convert: Mapping[str, Callable[[Any], Any]]) -> Any:
    """An instance of dataclass ``cls`` from the row's columns of the same names."""
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls)}
    for key, fn in convert.items():
        values[key] = fn(values[key])
    return cls(**values)


def _loads_or_none(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _version_row(draft: ModelVersion, number: int) -> dict[str, Any]:
    row = {f.name: getattr(draft, f.name) for f in dataclasses.fields(draft)}
    return {**row, "version": number, "datasets": _dumps(list(draft.datasets))}


def _model(row: Any) -> RegisteredModel:
    model: RegisteredModel = _fields(RegisteredModel, row, {"fields": orjson.loads})
    return model


def _version(row: Any) -> ModelVersion:
    version: ModelVersion = _fields(ModelVersion, row, {"datasets": orjson.loads})
    return version


def _change(row: Any) -> AliasChange:
    change: AliasChange = _fields(AliasChange, row, {"report": _loads_or_none})
    return change


def _evaluation(row: Any) -> Evaluation:
    convert: dict[str, Callable[[Any], Any]] = dict.fromkeys(_EVALUATION_JSON, _loads_or_none)
    for key in ("metrics", "slices", "fairness"):  # JSON has no NaN: orjson wrote null
        convert[key] = lambda text: _nan_back(orjson.loads(text))
    evaluation: Evaluation = _fields(Evaluation, row, convert)
    return evaluation


def _nan_back(value: Any) -> Any:
    """Nested metric dicts with every null (a NaN when written) turned back into NaN."""
    if isinstance(value, dict):
        return {k: _nan_back(v) for k, v in value.items()}
    return math.nan if value is None else value


def _webhook(row: Any) -> Webhook:
    webhook: Webhook = _fields(Webhook, row, {"events": orjson.loads, "active": bool})
    return webhook


def _delivery(row: Any) -> Delivery:
    delivery: Delivery = _fields(Delivery, row, {"payload": orjson.loads})
    return delivery
