"""Governance stores on a Shipyard server: the audit log, users and tokens over REST.

Every call needs an admin token (or an anonymous caller on a loopback server
without ``--auth``) and goes through the server's ``AuditService``/``AuthService``,
which audit the changes themselves. Two things differ from a local store:

* :meth:`RestAuditStore.append`: an authenticated caller is recorded as its
  token's user, at the server's time; the ``actor`` and ``time`` sent are kept
  only for an anonymous caller (a loopback server without ``--auth``).
* :meth:`RestAuthStore.create_token` sends only the secret's hash, so the secret
  a client makes never crosses the network.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipyard.client.http import HttpClient
from shipyard.core.errors import NotFoundError
from shipyard.governance.models import AuditEvent, Role, Token
from shipyard.governance.store.base import AuditStore, AuthStore, UserRow

API = "/api/v1"


class RestAuditStore(AuditStore):
    """The server's audit log."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def append(self, time: int, actor: str, action: str, target: str, payload_digest: str) -> AuditEvent:
        """Append on the server; with a token, the server records its user and its own time."""
        body: dict[str, Any] = {"time": time, "actor": actor, "action": action, "target": target}
        body["payload_digest"] = payload_digest
        return _event(self.http.request("POST", f"{API}/audit/events", json=body))

    def list_events(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        if limit < 1:
            return []
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
    """The server's users and tokens."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def create_user(self, name: str, role: Role, created_at: int) -> UserRow:
        body = {"name": name, "role": Role(role).value, "created_at": created_at}
        return _user(self.http.request("POST", f"{API}/users", json=body))

    def get_user(self, name: str) -> UserRow:
        return _user(self.http.request("GET", f"{API}/users/{_seg(name)}"))

    def find_user(self, name: str) -> UserRow | None:
        try:
            return self.get_user(name)
        except NotFoundError:
            return None

    def list_users(self) -> list[UserRow]:
        return [_user(u) for u in self.http.request("GET", f"{API}/users")]

    def create_token(self, token_id: str, name: str, role: Role, secret_hash: str, created_at: int) -> Token:
        """Store a token whose secret the caller made; only its hash is sent."""
        body: dict[str, Any] = {"id": token_id, "name": name, "role": Role(role).value}
        body.update(secret_hash=secret_hash, created_at=created_at)
        return _token(self.http.request("POST", f"{API}/tokens/records", json=body))

    def find_token_by_hash(self, secret_hash: str) -> Token | None:
        """Look the hash up (sent in a POST body, so it stays out of URLs and access logs)."""
        found = self.http.request("POST", f"{API}/tokens/find", json={"secret_hash": secret_hash})
        return None if found is None else _token(found)

    def list_tokens(self, include_revoked: bool = False) -> list[Token]:
        found = self.http.request("GET", f"{API}/tokens", params={"include_revoked": include_revoked})
        return [_token(t) for t in found]

    def revoke_token(self, token_id: str, at: int) -> Token:
        path = f"{API}/tokens/{_seg(token_id)}/revoke"
        return _token(self.http.request("POST", path, json={"at": at}))

    def touch_token(self, token_id: str, at: int) -> None:
        self.http.request("POST", f"{API}/tokens/{_seg(token_id)}/touch", json={"at": at})

    def close(self) -> None:
        self.http.close()


def _seg(value: str) -> str:
    """``value`` as one path segment; an empty name or id cannot name anything."""
    if not value:
        raise NotFoundError(f"{value!r} not found: a name or id cannot be empty")
    return quote(value, safe="")


def _user(body: dict[str, Any]) -> UserRow:
    return body["name"], Role(body["role"])


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
