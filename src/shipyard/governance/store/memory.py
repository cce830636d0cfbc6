"""In-memory governance stores: for tests and throw-away sessions. Thread-safe."""

from __future__ import annotations

import dataclasses
import threading

from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.governance.chain import GENESIS_HASH, event_hash
from shipyard.governance.models import AuditEvent, Role, Token
from shipyard.governance.store.base import AuditStore, AuthStore, UserRow


class MemoryAuditStore(AuditStore):
    """An audit log kept in a list; one lock serialises appenders."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._events: list[AuditEvent] = []
        self._lock = threading.Lock()

    def append(self, time: int, actor: str, action: str, target: str, payload_digest: str) -> AuditEvent:
        with self._lock:
            last = self._events[-1] if self._events else None
            seq = last.seq + 1 if last else 1
            prev_hash = last.hash if last else GENESIS_HASH
            digest = event_hash(seq, time, actor, action, target, payload_digest, prev_hash)
            event = AuditEvent(seq, time, actor, action, target, payload_digest, prev_hash, digest)
            self._events.append(event)
            return event

    def list_events(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        with self._lock:
            # seq n sits at index n - 1: events are never removed.
            start = max(after_seq, 0)
            return self._events[start : start + max(limit, 0)]

    def last_event(self) -> AuditEvent | None:
        with self._lock:
            return self._events[-1] if self._events else None


class MemoryAuthStore(AuthStore):
    """Users and tokens kept in dicts; one lock guards both."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._users: dict[str, tuple[Role, int]] = {}
        self._tokens: dict[str, Token] = {}
        self._by_hash: dict[str, str] = {}
        self._lock = threading.Lock()

    def create_user(self, name: str, role: Role, created_at: int) -> UserRow:
        with self._lock:
            if name in self._users:
                raise AlreadyExistsError(f"user {name!r} already exists")
            self._users[name] = (Role(role), created_at)
            return (name, Role(role))

    def get_user(self, name: str) -> UserRow:
        user = self.find_user(name)
        if user is None:
            raise NotFoundError(f"no user named {name!r}")
        return user

    def find_user(self, name: str) -> UserRow | None:
        with self._lock:
            found = self._users.get(name)
            return None if found is None else (name, found[0])

    def list_users(self) -> list[UserRow]:
        with self._lock:
            return [(name, self._users[name][0]) for name in sorted(self._users)]

    def create_token(self, token_id: str, name: str, role: Role, secret_hash: str, created_at: int) -> Token:
        with self._lock:
            if name not in self._users:
                raise NotFoundError(f"no user named {name!r}")
            if token_id in self._tokens:
                raise AlreadyExistsError(f"token {token_id!r} already exists")
            if secret_hash in self._by_hash:
                raise AlreadyExistsError("a token with that secret already exists")
            token = Token(id=token_id, name=name, role=Role(role), created_at=created_at)
            self._tokens[token_id] = token
            self._by_hash[secret_hash] = token_id
            return token

    def find_token_by_hash(self, secret_hash: str) -> Token | None:
        with self._lock:
            token_id = self._by_hash.get(secret_hash)
            return None if token_id is None else self._tokens[token_id]

    def list_tokens(self, include_revoked: bool = False) -> list[Token]:
        with self._lock:
            tokens = [t for t in self._tokens.values() if include_revoked or t.revoked_at is None]
        return sorted(tokens, key=lambda t: (t.created_at, t.id))

    def revoke_token(self, token_id: str, at: int) -> Token:
        with self._lock:
            token = self._get_token(token_id)
            if token.revoked_at is None:
                token = dataclasses.replace(token, revoked_at=at)
                self._tokens[token_id] = token
            return token

    def touch_token(self, token_id: str, at: int) -> None:
        with self._lock:
            self._tokens[token_id] = dataclasses.replace(self._get_token(token_id), last_used_at=at)

    def _get_token(self, token_id: str) -> Token:
        token = self._tokens.get(token_id)
        if token is None:
            raise NotFoundError(f"no token with id {token_id!r}")
        return token
