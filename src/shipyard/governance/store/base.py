"""The two narrow contracts every governance backend (memory, SQL, REST) implements.

Every method raises only :mod:`shipyard.core.errors` exceptions: ``NotFoundError``
for unknown names or ids, ``AlreadyExistsError`` for clashes, ``BackendUnavailable``
when the backend cannot be reached. Inputs are validated by the service.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from shipyard.governance.models import AuditEvent, Role, Token

# A user as stored: (name, role).
UserRow = tuple[str, Role]


class AuditStore(ABC):
    """An append-only, hash-chained log of audit events."""

    @abstractmethod
    def append(self, time: int, actor: str, action: str, target: str, payload_digest: str) -> AuditEvent:
        """Add the next link atomically and return it.

        In one serialised step the store reads the last event, assigns
        ``seq = last.seq + 1`` (1 for the first), ``prev_hash = last.hash``
        (:data:`~shipyard.governance.chain.GENESIS_HASH` for the first) and
        ``hash = event_hash(...)``, and writes the row, so concurrent appenders, in
        this or other processes, never fork the chain.
        """

    @abstractmethod
    def list_events(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        """Events with ``seq > after_seq`` in seq order, at most ``limit`` of them."""

    @abstractmethod
    def last_event(self) -> AuditEvent | None:
        """The event with the highest seq, or None when the log is empty."""


class AuthStore(ABC):
    """Users, their roles and their bearer tokens (stored as SHA-256 of the secret)."""

    @abstractmethod
    def create_user(self, name: str, role: Role, created_at: int) -> UserRow:
        """Add a user; ``AlreadyExistsError`` if the name is taken."""

    @abstractmethod
    def get_user(self, name: str) -> UserRow:
        """The user called ``name``; ``NotFoundError`` if there is none."""

    @abstractmethod
    def find_user(self, name: str) -> UserRow | None:
        """The user called ``name``, or None."""

    @abstractmethod
    def list_users(self) -> list[UserRow]:
        """All users, by name."""

    @abstractmethod
    def create_token(self, token_id: str, name: str, role: Role, secret_hash: str, created_at: int) -> Token:
        """Add a token for an existing user (``NotFoundError`` if the user is missing);
        ``AlreadyExistsError`` if the id or the secret hash is already stored."""

    @abstractmethod
    def find_token_by_hash(self, secret_hash: str) -> Token | None:
        """The token whose secret hashes to ``secret_hash`` (revoked or not), or None."""

    @abstractmethod
    def list_tokens(self, include_revoked: bool = False) -> list[Token]:
        """Tokens in creation order (then id), without revoked ones unless asked."""

    @abstractmethod
    def revoke_token(self, token_id: str, at: int) -> Token:
        """Mark a token revoked at ``at`` and return it; ``NotFoundError`` for an unknown id.

        Revoking an already revoked token changes nothing and returns it as it is.
        """

    @abstractmethod
    def touch_token(self, token_id: str, at: int) -> None:
        """Set the token's ``last_used_at``; ``NotFoundError`` for an unknown id."""
