"""Governance stores on a Shipyard server: read the audit log, users and tokens over REST.

The server writes its own audit log (every change it makes is recorded there, by
the actor of the request), so :meth:`RestAuditStore.append` is refused. Tokens are
issued by the server, which creates the secret and shows it once
(``POST /api/v1/tokens``); a client cannot store a secret hash of its own choosing,
so the store-level writes that would need that are refused with the way to do it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipyard.client.http import HttpClient
from shipyard.core.errors import NotFoundError, PermissionDenied
from shipyard.governance.models import AuditEvent, Role, Token
from shipyard.governance.store.base import AuditStore, AuthStore, UserRow

API = "/api/v1"


class RestAuditStore(AuditStore):
    """The server's audit log, read-only."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def append(self, time: int, actor: str, action: str, target: str, payload_digest: str) -> AuditEvent:
        raise PermissionDenied(
            "the audit log is written by the server: it records every change made "
            "through its API, with the token's user as the actor"
        )

    def list_events(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        found = self.http.request(
            "GET", f"{API}/audit/events", params={"after_seq": after_seq, "limit": limit}
        )
        return [_event(e) for e in found]

    def last_event(self) -> AuditEvent | None:
        found = self.http.request("GET", f"{API}/audit/events/last")
        return None if found is None else _event(found)

    def close(self) -> None:
        self.http.close()


class RestAuthStore(AuthStore):
    """The server's users and tokens; listing and revocation work remotely."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def create_user(self, name: str, role: Role, created_at: int) -> UserRow:
        raise PermissionDenied(
            "users are created by the server when it issues their first token: "
            "POST /api/v1/tokens (shipyard token create)"
        )

    def get_user(self, name: str) -> UserRow:
        found = self.find_user(name)
        if found is None:
            raise NotFoundError(f"user {name!r} not found")
        return found

    def find_user(self, name: str) -> UserRow | None:
        return next((user for user in self.list_users() if user[0] == name), None)

    def list_users(self) -> list[UserRow]:
        return [(u["name"], Role(u["role"])) for u in self.http.request("GET", f"{API}/users")]

    def create_token(self, token_id: str, name: str, role: Role, secret_hash: str, created_at: int) -> Token:
        raise PermissionDenied(
            "tokens are issued by the server, which makes the secret and shows it once: "
            "POST /api/v1/tokens (shipyard token create)"
        )

    def find_token_by_hash(self, secret_hash: str) -> Token | None:
        raise PermissionDenied(
            "tokens are checked by the server on every request; send the secret as "
            "'Authorization: Bearer <token>' (SHIPYARD_TOKEN)"
        )

    def list_tokens(self, include_revoked: bool = False) -> list[Token]:
        found = self.http.request("GET", f"{API}/tokens", params={"include_revoked": include_revoked})
        return [_token(t) for t in found]

    def revoke_token(self, token_id: str, at: int) -> Token:
        """Revoke ``token_id``; the server stamps its own time (``at`` is not sent)."""
        return _token(self.http.request("POST", f"{API}/tokens/{quote(token_id, safe='')}/revoke"))

    def touch_token(self, token_id: str, at: int) -> None:
        """A no-op: the server stamps ``last_used_at`` itself when a token is used."""

    def close(self) -> None:
        self.http.close()


def _event(body: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        seq=body["seq"],
        time=body["time"],
        actor=body["actor"],
        action=body["action"],
        target=body["target"],
        payload_digest=body["payload_digest"],
        prev_hash=body["prev_hash"],
        hash=body["hash"],
    )


def _token(body: dict[str, Any]) -> Token:
    return Token(
        id=body["id"],
        name=body["name"],
        role=Role(body["role"]),
        created_at=body["created_at"],
        revoked_at=body.get("revoked_at"),
        last_used_at=body.get("last_used_at"),
    )
