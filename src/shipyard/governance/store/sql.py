"""Governance stores on the metadata database (SQLite or PostgreSQL), SQLAlchemy Core.

Appends to the audit log are serialised across processes: on SQLite every write
transaction is ``BEGIN IMMEDIATE``; on PostgreSQL the transaction first takes
``pg_advisory_xact_lock(AUDIT_LOCK_KEY)``, released at commit or rollback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from shipyard.core.errors import AlreadyExistsError, BackendUnavailable, NotFoundError
from shipyard.db.engine import get_engine, normalize_uri, reading, transaction, with_retry
from shipyard.db.migrate import ensure_schema
from shipyard.db.tables import audit_events, tokens, users
from shipyard.governance.chain import GENESIS_HASH, event_hash
from shipyard.governance.models import AuditEvent, Role, Token
from shipyard.governance.store.base import AuditStore, AuthStore, UserRow

T = TypeVar("T")

# Key of the PostgreSQL advisory lock that serialises audit appenders ("SHPYAUDT").
AUDIT_LOCK_KEY = 0x5348_5059_4155_4454


class _SqlStore:
    """Engine, schema check and error translation shared by both stores."""

    def __init__(self, uri: str) -> None:
        self.uri = normalize_uri(uri)
        self._engine = get_engine(self.uri)
        ensure_schema(self._engine, auto_upgrade=self.uri.startswith("sqlite"))

    def _run(self, fn: Callable[[], T], clash: str = "already exists") -> T:
        """Run ``fn`` with retries; integrity errors become ``AlreadyExistsError(clash)``."""
        try:
            return with_retry(fn)
        except IntegrityError as exc:
            raise AlreadyExistsError(clash) from exc
        except SQLAlchemyError as exc:
            raise BackendUnavailable(f"metadata database error: {exc}") from exc

    def _read(self, fn: Callable[[Connection], T]) -> T:
        def run() -> T:
            with reading(self._engine) as conn:
                return fn(conn)

        return self._run(run)


def _event(row: Row[Any]) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        time=row.time,
        actor=row.actor,
        action=row.action,
        target=row.target,
        payload_digest=row.payload_digest,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _token(row: Row[Any]) -> Token:
    return Token(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class SqlAuditStore(_SqlStore, AuditStore):
    """The audit log in table ``audit_events``; seq is assigned here, not by the database."""

    def append(self, time: int, actor: str, action: str, target: str, payload_digest: str) -> AuditEvent:
        def run() -> AuditEvent:
            with transaction(self._engine) as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))
                last = _last(conn)
                seq = last.seq + 1 if last else 1
                prev_hash = last.hash if last else GENESIS_HASH
                digest = event_hash(seq, time, actor, action, target, payload_digest, prev_hash)
                event = AuditEvent(seq, time, actor, action, target, payload_digest, prev_hash, digest)
                conn.execute(sa.insert(audit_events).values(**dataclasses.asdict(event)))
                return event

        return self._run(run, clash="an audit event with that seq or hash already exists")

    def list_events(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        query = (
            sa.select(audit_events)
            .where(audit_events.c.seq > after_seq)
            .order_by(audit_events.c.seq)
            .limit(max(limit, 0))
        )
        return self._read(lambda conn: [_event(row) for row in conn.execute(query)])

    def last_event(self) -> AuditEvent | None:
        return self._read(_last)


def _last(conn: Connection) -> AuditEvent | None:
    row = conn.execute(sa.select(audit_events).order_by(audit_events.c.seq.desc()).limit(1)).first()
    return None if row is None else _event(row)


class SqlAuthStore(_SqlStore, AuthStore):
    """Users and tokens in tables ``users`` and ``tokens``."""

    def create_user(self, name: str, role: Role, created_at: int) -> UserRow:
        def run() -> UserRow:
            with transaction(self._engine) as conn:
                conn.execute(sa.insert(users).values(name=name, role=Role(role).value, created_at=created_at))
            return (name, Role(role))

        return self._run(run, clash=f"user {name!r} already exists")

    def get_user(self, name: str) -> UserRow:
        user = self.find_user(name)
        if user is None:
            raise NotFoundError(f"no user named {name!r}")
        return user

    def find_user(self, name: str) -> UserRow | None:
        query = sa.select(users.c.name, users.c.role).where(users.c.name == name)
        row = self._read(lambda conn: conn.execute(query).first())
        return None if row is None else (row.name, Role(row.role))

    def list_users(self) -> list[UserRow]:
        query = sa.select(users.c.name, users.c.role).order_by(users.c.name)
        rows = self._read(lambda conn: conn.execute(query).all())
        return [(row.name, Role(row.role)) for row in rows]

    def create_token(self, token_id: str, name: str, role: Role, secret_hash: str, created_at: int) -> Token:
        token = Token(id=token_id, name=name, role=Role(role), created_at=created_at)

        def run() -> Token:
            with transaction(self._engine) as conn:
                if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first() is None:
                    raise NotFoundError(f"no user named {name!r}")
                conn.execute(
                    sa.insert(tokens).values(
                        id=token_id,
                        name=name,
                        role=token.role.value,
                        secret_hash=secret_hash,
                        created_at=created_at,
                    )
                )
            return token

        return self._run(run, clash=f"a token with id {token_id!r} or the same secret already exists")

    def find_token_by_hash(self, secret_hash: str) -> Token | None:
        query = sa.select(tokens).where(tokens.c.secret_hash == secret_hash)
        row = self._read(lambda conn: conn.execute(query).first())
        return None if row is None else _token(row)

    def list_tokens(self, include_revoked: bool = False) -> list[Token]:
        query = sa.select(tokens).order_by(tokens.c.created_at, tokens.c.id)
        if not include_revoked:
            query = query.where(tokens.c.revoked_at.is_(None))
        return self._read(lambda conn: [_token(row) for row in conn.execute(query)])

    def revoke_token(self, token_id: str, at: int) -> Token:
        def run() -> Token:
            with transaction(self._engine) as conn:
                conn.execute(
                    sa.update(tokens)
                    .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                    .values(revoked_at=at)
                )
                row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).first()
                if row is None:
                    raise NotFoundError(f"no token with id {token_id!r}")
                return _token(row)

        return self._run(run)

    def touch_token(self, token_id: str, at: int) -> None:
        def run() -> None:
            with transaction(self._engine) as conn:
                result = conn.execute(
                    sa.update(tokens).where(tokens.c.id == token_id).values(last_used_at=at)
                )
                if result.rowcount == 0:
                    raise NotFoundError(f"no token with id {token_id!r}")

        self._run(run)
