"""Tokens and roles: issue, authenticate, authorize, revoke; secrets never kept in clear."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.core.errors import (
    AuthenticationRequired,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
)
from shipyard.db.engine import get_engine
from shipyard.governance.models import Role
from shipyard.governance.service import AuditService, AuthService, parse_role
from shipyard.governance.store.sql import SqlAuditStore, SqlAuthStore


@pytest.fixture
def auth(sqlite_uri: str) -> AuthService:
    return AuthService(SqlAuthStore(sqlite_uri), AuditService(SqlAuditStore(sqlite_uri)))


def test_create_authenticate_revoke(auth: AuthService) -> None:
    token, secret = auth.create_token("bob", "editor", actor="admin")
    assert secret.startswith("shp_") and len(secret) == 4 + 43
    assert (token.name, token.role) == ("bob", Role.EDITOR)
    assert auth.authenticate(secret).id == token.id
    assert [t.id for t in auth.list_tokens()] == [token.id]
    revoked = auth.revoke_token(token.id, actor="admin")
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationRequired, match="revoked"):
        auth.authenticate(secret)
    assert auth.list_tokens() == []
    assert [t.id for t in auth.list_tokens(include_revoked=True)] == [token.id]


@pytest.mark.parametrize("secret", [None, ""])
def test_missing_secret_says_how_to_send_one(auth: AuthService, secret: str | None) -> None:
    with pytest.raises(AuthenticationRequired, match="Authorization: Bearer <token>"):
        auth.authenticate(secret)


def test_unknown_secret_is_refused(auth: AuthService) -> None:
    auth.create_token("bob", Role.VIEWER)
    with pytest.raises(AuthenticationRequired):
        auth.authenticate("shp_not-a-real-token")


def test_authenticate_records_last_use_at_most_once_a_minute(auth: AuthService) -> None:
    _, secret = auth.create_token("bob", Role.VIEWER)
    first = auth.authenticate(secret)
    assert first.last_used_at is not None
    stored = auth.list_tokens()[0]
    assert stored.last_used_at == first.last_used_at
    assert auth.authenticate(secret).last_used_at == first.last_used_at


def test_viewer_cannot_do_editor_things(auth: AuthService) -> None:
    viewer, _ = auth.create_token("val", Role.VIEWER)
    auth.authorize(viewer, Role.VIEWER)
    with pytest.raises(PermissionDenied) as info:
        auth.authorize(viewer, Role.EDITOR)
    assert type(info.value) is PermissionDenied  # 403, not 401
    assert "editor" in info.value.message and "viewer" in info.value.message
    assert info.value.details == {"needed": "editor", "held": "viewer"}
    admin, _ = auth.create_token("root", Role.ADMIN)
    for role in Role:
        auth.authorize(admin, role)


def test_token_cannot_carry_more_than_its_users_role(auth: AuthService) -> None:
    auth.create_token("bob", Role.EDITOR)
    with pytest.raises(ConflictError, match="has role editor"):
        auth.create_token("bob", Role.ADMIN)
    lower, _ = auth.create_token("bob", Role.VIEWER)  # least privilege is fine
    assert lower.role is Role.VIEWER
    assert auth.list_users() == [("bob", Role.EDITOR)]


def test_invalid_role_lists_the_roles(auth: AuthService) -> None:
    with pytest.raises(InvalidInputError, match="viewer, editor, approver, admin"):
        auth.create_token("bob", "superuser")
    with pytest.raises(InvalidInputError):
        auth.authorize(auth.create_token("bob", "viewer")[0], "root")
    assert parse_role("ADMIN") is Role.ADMIN


def test_invalid_user_name_is_refused(auth: AuthService) -> None:
    with pytest.raises(InvalidInputError):
        auth.create_token("  ", Role.VIEWER)


def test_revoking_an_unknown_token_fails_and_records_nothing(auth: AuthService) -> None:
    with pytest.raises(NotFoundError):
        auth.revoke_token("nope")
    assert auth.audit is not None and auth.audit.list_events() == []


def test_secrets_are_never_stored_in_clear(auth: AuthService, sqlite_uri: str) -> None:
    secrets = [auth.create_token(f"user{i}", Role.EDITOR)[1] for i in range(3)]
    with get_engine(sqlite_uri).connect() as conn:
        rows = conn.execute(sa.text("SELECT secret_hash FROM tokens")).scalars().all()
        dump = "\n".join(conn.connection.dbapi_connection.iterdump())  # type: ignore[union-attr]
    assert sorted(rows) == sorted(hashlib.sha256(s.encode()).hexdigest() for s in secrets)
    db_file = Path(sqlite_uri.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    for secret in secrets:
        assert secret not in dump
        assert secret.encode() not in raw
        assert secret.removeprefix("shp_").encode() not in raw


def test_mutations_are_audited(auth: AuthService) -> None:
    token, secret = auth.create_token("bob", Role.EDITOR, actor="admin")
    auth.create_token("bob", Role.VIEWER, actor="admin")
    auth.authenticate(secret)  # reads are not audited
    auth.revoke_token(token.id, actor="root")
    assert auth.audit is not None
    events = auth.audit.list_events()
    assert [(e.actor, e.action) for e in events] == [
        ("admin", "user.create"),
        ("admin", "token.create"),
        ("admin", "token.create"),
        ("root", "token.revoke"),
    ]
    assert events[1].target == f"token:{token.id}" and events[3].target == f"token:{token.id}"
    assert auth.audit.verify().ok
    assert all(secret not in e.target for e in events)


def test_register_token_from_a_hash(auth: AuthService) -> None:
    from shipyard.governance.service import secret_hash

    with pytest.raises(NotFoundError):
        auth.register_token("t1", "ghost", "viewer", secret_hash("s"))
    auth.create_user("bob", "editor", created_at=3, actor="root")
    token = auth.register_token("t1", "bob", "viewer", secret_hash("shp_mine"), created_at=7, actor="root")
    assert (token.id, token.role, token.created_at) == ("t1", Role.VIEWER, 7)
    assert auth.authenticate("shp_mine").id == "t1"
    with pytest.raises(ConflictError, match="editor"):
        auth.register_token("t2", "bob", "admin", secret_hash("other"))
    for bad_id, bad_hash in (("../t", secret_hash("x")), ("t3", "short"), ("t3", "z" * 63 + "!")):
        with pytest.raises(InvalidInputError):
            auth.register_token(bad_id, "bob", "viewer", bad_hash)
    auth.touch_token("t1", at=99)
    assert auth.find_token_by_hash(secret_hash("shp_mine")).last_used_at == 99  # type: ignore[union-attr]
    assert auth.revoke_token("t1", actor="root", at=50).revoked_at == 50
    assert auth.audit is not None
    events = [(e.actor, e.action) for e in auth.audit.list_events()]
    assert events == [("root", "user.create"), ("root", "token.create"), ("root", "token.revoke")]


def test_without_an_audit_service_nothing_is_recorded(sqlite_uri: str) -> None:
    client_side = AuthService(SqlAuthStore(sqlite_uri), None)
    client_side.create_token("bob", "editor")
    assert AuditService(SqlAuditStore(sqlite_uri)).list_events() == []


def test_record_digest_checks_its_input(auth: AuthService) -> None:
    assert auth.audit is not None
    digest = "sha256:" + "ab" * 32
    event = auth.audit.record_digest("zoë", "model.promote", "model:m", digest, time=5)
    assert (event.actor, event.time, event.payload_digest) == ("zoë", 5, digest)
    for actor, action, bad_digest in (("", "a", digest), ("x", "a", "sha256:0"), ("x", "\n", digest)):
        with pytest.raises(InvalidInputError):
            auth.audit.record_digest(actor, action, "t", bad_digest)
    with pytest.raises(InvalidInputError):
        auth.audit.record_digest("x", "a", "t", digest, time=-1)
