"""Use cases of governance: the audit log, and users, roles and bearer tokens.

Tokens: the secret (``shp_`` + 43 URL-safe characters) is shown once, when the token
is created; only its SHA-256 is stored. A token carries a role no higher than its
user's: asking for more than the user holds is a ``ConflictError`` (the request
contradicts the stored role; roles are never raised as a side effect of issuing a
token). Asking for less is allowed, which gives least-privilege tokens.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import (
    AlreadyExistsError,
    AuthenticationRequired,
    ConflictError,
    InvalidInputError,
    PermissionDenied,
)
from shipyard.core.ids import new_id
from shipyard.core.names import check_name
from shipyard.governance.chain import verify_chain
from shipyard.governance.models import AuditEvent, ChainReport, Role, Token
from shipyard.governance.store.base import AuditStore, AuthStore, UserRow

SECRET_PREFIX = "shp_"
PAGE_SIZE = 1000
# last_used_at is written at most once per this many ms per token, to keep reads cheap.
TOUCH_EVERY_MS = 60_000
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Token ids the service makes are 32 hex; ids recorded through the store API may be any short word.
_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# What the store keeps of a secret: a SHA-256 in hex is 64 characters.
_SECRET_HASH = re.compile(r"[A-Za-z0-9]{64}")


def payload_digest(payload: Any) -> str:
    """``sha256:`` + hex SHA-256 of the canonical JSON of ``payload`` (``default=str``).

    >>> payload_digest(None)[:15]
    'sha256:74234e98'
    """
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def secret_hash(secret: str) -> str:
    """What the store keeps of a token secret: its SHA-256 in hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_role(role: Role | str) -> Role:
    """A role from its name; ``InvalidInputError`` listing the roles otherwise.

    >>> parse_role("Editor")
    <Role.EDITOR: 'editor'>
    """
    try:
        return Role(role.lower() if isinstance(role, str) else role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"unknown role {role!r}; roles are: {known}") from None


class AuditService:
    """Records who did what to which thing, in a hash chain; verifies the chain."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def record(self, actor: str, action: str, target: str, payload: Any = None) -> AuditEvent:
        """Append one event; the payload itself is not stored, only its digest."""
        return self.store.append(now_ms(), actor, action, target, payload_digest(payload))

    def record_digest(
        self, actor: str, action: str, target: str, digest: str, *, time: int | None = None
    ) -> AuditEvent:
        """Append one event whose payload the caller already digested (``sha256:<64 hex>``).

        ``time`` (ms) defaults to now; the server passes one only for an anonymous
        caller on loopback (see ``docs/server.md``).
        """
        for value, what in ((actor, "actor"), (action, "action"), (target, "target")):
            check_name(value, f"audit {what}")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise InvalidInputError(f"payload digest {digest!r} is invalid: expected 'sha256:' + 64 hex")
        return self.store.append(_time(time), actor, action, target, digest)

    def list_events(self, after_seq: int = 0, limit: int = PAGE_SIZE) -> list[AuditEvent]:
        """Events after ``after_seq`` in seq order."""
        if limit < 1 or after_seq < 0:
            raise InvalidInputError(f"need limit >= 1 and after_seq >= 0, got {limit} and {after_seq}")
        return self.store.list_events(after_seq=after_seq, limit=limit)

    def head(self) -> tuple[int, str] | None:
        """The newest ``(seq, hash)``: copy it out of the database to detect later truncation."""
        last = self.store.last_event()
        return None if last is None else (last.seq, last.hash)

    def verify(self, anchor: tuple[int, str] | None = None) -> ChainReport:
        """Walk the whole log, page by page, and report the first broken link.

        A removed tail is invisible to the chain alone; pass an ``anchor`` taken
        earlier from :meth:`head` to detect it.
        """
        return verify_chain(self._all_events(), anchor=anchor)

    def _all_events(self) -> Iterator[AuditEvent]:
        after = 0
        while True:
            page = self.store.list_events(after_seq=after, limit=PAGE_SIZE)
            yield from page
            if len(page) < PAGE_SIZE:
                return
            after = page[-1].seq


class AuthService:
    """Users, roles and bearer tokens; every change is written to the audit log.

    ``audit`` is None only for a client of a server, which records its own events
    (by the token's user) for every change made through its API.
    """

    def __init__(self, store: AuthStore, audit: AuditService | None) -> None:
        self.store = store
        self.audit = audit

    def create_token(self, name: str, role: Role | str, actor: str = "local") -> tuple[Token, str]:
        """Issue a token for ``name`` (created with ``role`` if new); returns it and its secret.

        The secret is returned only here; keep it, it cannot be shown again.
        """
        check_name(name, "user name")
        wanted = parse_role(role)
        self._ensure_user(name, wanted, actor)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        token = self.store.create_token(new_id(), name, wanted, secret_hash(secret), now_ms())
        self._record(actor, "token.create", f"token:{token.id}", {"name": name, "role": wanted.value})
        return token, secret

    def register_token(
        self,
        token_id: str,
        name: str,
        role: Role | str,
        hashed: str,
        *,
        created_at: int | None = None,
        actor: str = "local",
    ) -> Token:
        """Store a token whose secret the caller made and hashed (:func:`secret_hash`).

        The user must exist (``NotFoundError``) and hold at least ``role``
        (``ConflictError``); a taken id or hash is ``AlreadyExistsError``.
        """
        if not isinstance(token_id, str) or not _TOKEN_ID.fullmatch(token_id):
            raise InvalidInputError(f"token id {token_id!r} is invalid: 1 to 64 letters, digits, '_' or '-'")
        if not isinstance(hashed, str) or not _SECRET_HASH.fullmatch(hashed):
            raise InvalidInputError(
                "secret hash is invalid: expected the 64-character SHA-256 hex of the secret"
            )
        wanted = parse_role(role)
        _check_allowed(self.get_user(check_name(name, "user name")), wanted)
        token = self.store.create_token(token_id, name, wanted, hashed, _time(created_at))
        self._record(actor, "token.create", f"token:{token.id}", {"name": name, "role": wanted.value})
        return token

    def create_user(
        self, name: str, role: Role | str, *, created_at: int | None = None, actor: str = "local"
    ) -> UserRow:
        """Add a user (``AlreadyExistsError`` if the name is taken)."""
        wanted = parse_role(role)
        user = self.store.create_user(check_name(name, "user name"), wanted, _time(created_at))
        self._record(actor, "user.create", f"user:{name}", {"role": wanted.value})
        return user

    def _ensure_user(self, name: str, role: Role, actor: str) -> UserRow:
        user = self.store.find_user(name)
        if user is None:
            try:
                user = self.create_user(name, role, actor=actor)
            except AlreadyExistsError:  # created meanwhile by someone else
                user = self.store.get_user(name)
        _check_allowed(user, role)
        return user

    def get_user(self, name: str) -> UserRow:
        """The user called ``name``; ``NotFoundError`` if there is none."""
        return self.store.get_user(name)

    def find_user(self, name: str) -> UserRow | None:
        """The user called ``name``, or None."""
        return self.store.find_user(name)

    def list_users(self) -> list[UserRow]:
        """All users as ``(name, role)``, by name."""
        return self.store.list_users()

    def list_tokens(self, include_revoked: bool = False) -> list[Token]:
        """Tokens in creation order; revoked ones only when asked."""
        return self.store.list_tokens(include_revoked=include_revoked)

    def find_token_by_hash(self, hashed: str) -> Token | None:
        """The token (revoked or not) whose secret hashes to ``hashed``, or None; nothing is touched."""
        return self.store.find_token_by_hash(hashed)

    def revoke_token(self, token_id: str, actor: str = "local", *, at: int | None = None) -> Token:
        """Revoke a token by id (``NotFoundError`` if unknown); revoking twice is a no-op."""
        token = self.store.revoke_token(token_id, _time(at))
        self._record(actor, "token.revoke", f"token:{token_id}", {"name": token.name})
        return token

    def touch_token(self, token_id: str, *, at: int | None = None) -> None:
        """Set the token's ``last_used_at`` (``NotFoundError`` for an unknown id); not audited."""
        self.store.touch_token(token_id, _time(at))

    def authenticate(self, secret: str | None) -> Token:
        """The live token whose secret this is; ``AuthenticationRequired`` otherwise."""
        if not secret:
            raise AuthenticationRequired("authentication required: send Authorization: Bearer <token>")
        token = self.store.find_token_by_hash(secret_hash(secret))
        if token is None:
            raise AuthenticationRequired(
                "invalid token: no such token; check the secret or create a new token"
            )
        if token.revoked_at is not None:
            raise AuthenticationRequired(f"token {token.id} was revoked; create a new one")
        at = now_ms()
        if token.last_used_at is None or at - token.last_used_at >= TOUCH_EVERY_MS:
            self.store.touch_token(token.id, at)
            token = dataclasses.replace(token, last_used_at=at)
        return token

    def authorize(self, token: Token, needed: Role | str) -> None:
        """``PermissionDenied`` unless the token's role allows ``needed``."""
        role = parse_role(needed)
        if not token.role.allows(role):
            raise PermissionDenied(
                f"this needs role {role.value}; "
                f"token {token.id} of {token.name!r} has role {token.role.value}",
                details={"needed": role.value, "held": token.role.value},
            )

    def _record(self, actor: str, action: str, target: str, payload: Any) -> None:
        if self.audit is not None:
            self.audit.record(actor, action, target, payload)


def _check_allowed(user: UserRow, role: Role) -> None:
    """``ConflictError`` unless the user's role allows a token with ``role``."""
    name, held = user
    if not held.allows(role):
        raise ConflictError(
            f"user {name!r} has role {held.value}; a token cannot carry more than its user's role "
            f"(asked for {role.value}): ask for {held.value} or lower"
        )


def _time(value: int | None) -> int:
    """``value`` (ms since the epoch, a caller's choice) or now."""
    if value is None:
        return now_ms()
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"times are ms since the epoch, got {value!r}")
    return value
