"""Entities of governance: audit events, users, roles and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Roles, each allowed everything the ones before it are."""

    VIEWER = "viewer"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class AuditEvent:
    """One link of the hash chain. ``hash`` covers every other field and ``prev_hash``."""

    seq: int
    time: int
    actor: str
    action: str
    target: str
    payload_digest: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Token:
    """A bearer token as stored: only the SHA-256 of the secret is kept."""

    id: str
    name: str
    role: Role
    created_at: int
    revoked_at: int | None = None
    last_used_at: int | None = None


@dataclass(frozen=True)
class ChainReport:
    """Result of ``shipyard audit verify``."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
