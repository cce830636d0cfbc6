"""Contract suites every governance backend runs unchanged.

Subclass one, name the subclass ``Test...`` and give it a ``store`` fixture.
"""

from __future__ import annotations

import itertools
import threading

import pytest

from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.governance.chain import GENESIS_HASH, hash_of, verify_chain
from shipyard.governance.models import Role
from shipyard.governance.store.base import AuditStore, AuthStore

DIGEST = "sha256:" + "ab" * 32


def _append(store: AuditStore, n: int, actor: str = "alice") -> None:
    for i in range(n):
        store.append(1000 + i, actor, "thing.do", f"thing:{i}", DIGEST)


class AuditStoreContract:
    """What every :class:`AuditStore` must do."""

    def test_empty_log(self, store: AuditStore) -> None:
        assert store.last_event() is None
        assert store.list_events() == []
        assert verify_chain(store.list_events()).ok

    def test_first_event_starts_the_chain(self, store: AuditStore) -> None:
        event = store.append(5, "alice", "token.create", "token:x", DIGEST)
        assert (event.seq, event.time, event.actor, event.action) == (1, 5, "alice", "token.create")
        assert (event.target, event.payload_digest, event.prev_hash) == ("token:x", DIGEST, GENESIS_HASH)
        assert event.hash == hash_of(event)
        assert store.last_event() == event

    def test_events_link_in_seq_order(self, store: AuditStore) -> None:
        _append(store, 5)
        events = store.list_events()
        assert [e.seq for e in events] == [1, 2, 3, 4, 5]
        for prev, cur in itertools.pairwise(events):
            assert cur.prev_hash == prev.hash
        assert store.last_event() == events[-1]
        assert verify_chain(events).ok

    def test_list_events_pages(self, store: AuditStore) -> None:
        _append(store, 7)
        assert [e.seq for e in store.list_events(after_seq=2, limit=3)] == [3, 4, 5]
        assert [e.seq for e in store.list_events(after_seq=5)] == [6, 7]
        assert store.list_events(after_seq=7) == []
        assert store.list_events(limit=0) == []

    def test_unicode_round_trips(self, store: AuditStore) -> None:
        event = store.append(1, "zoë", "model.promote", "model:früh/モデル", DIGEST)
        assert store.list_events() == [event]
        assert verify_chain([event]).ok

    def test_concurrent_appenders_do_not_fork_the_chain(self, store: AuditStore) -> None:
        threads = [threading.Thread(target=_append, args=(store, 25, f"t{i}")) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        events = store.list_events(limit=1000)
        assert len(events) == 150
        report = verify_chain(events)
        assert report.ok, report
        assert report.checked == 150


class AuthStoreContract:
    """What every :class:`AuthStore` must do."""

    def test_users(self, store: AuthStore) -> None:
        assert store.create_user("bob", Role.EDITOR, 1) == ("bob", Role.EDITOR)
        store.create_user("alice", Role.VIEWER, 2)
        assert store.get_user("bob") == ("bob", Role.EDITOR)
        assert store.find_user("carol") is None
        assert store.list_users() == [("alice", Role.VIEWER), ("bob", Role.EDITOR)]

    def test_user_errors(self, store: AuthStore) -> None:
        store.create_user("bob", Role.EDITOR, 1)
        with pytest.raises(AlreadyExistsError):
            store.create_user("bob", Role.ADMIN, 2)
        with pytest.raises(NotFoundError):
            store.get_user("nobody")

    def test_create_and_find_token(self, store: AuthStore) -> None:
        store.create_user("bob", Role.EDITOR, 1)
        token = store.create_token("t1", "bob", Role.VIEWER, "h" * 64, 10)
        assert (token.id, token.name, token.role, token.created_at) == ("t1", "bob", Role.VIEWER, 10)
        assert token.revoked_at is None and token.last_used_at is None
        assert store.find_token_by_hash("h" * 64) == token
        assert store.find_token_by_hash("x" * 64) is None

    def test_token_errors(self, store: AuthStore) -> None:
        with pytest.raises(NotFoundError):
            store.create_token("t0", "ghost", Role.VIEWER, "g" * 64, 1)
        store.create_user("bob", Role.EDITOR, 1)
        store.create_token("t1", "bob", Role.VIEWER, "a" * 64, 1)
        with pytest.raises(AlreadyExistsError):
            store.create_token("t1", "bob", Role.VIEWER, "b" * 64, 2)
        with pytest.raises(AlreadyExistsError):
            store.create_token("t2", "bob", Role.VIEWER, "a" * 64, 2)
        assert [t.id for t in store.list_tokens()] == ["t1"]

    def test_list_and_revoke_tokens(self, store: AuthStore) -> None:
        store.create_user("bob", Role.EDITOR, 1)
        for i, tid in enumerate(["t3", "t1", "t2"]):
            store.create_token(tid, "bob", Role.EDITOR, str(i) * 64, 10 + i)
        assert [t.id for t in store.list_tokens()] == ["t3", "t1", "t2"]
        revoked = store.revoke_token("t1", 50)
        assert revoked.revoked_at == 50
        assert store.revoke_token("t1", 60).revoked_at == 50  # revoking twice changes nothing
        assert [t.id for t in store.list_tokens()] == ["t3", "t2"]
        assert [t.id for t in store.list_tokens(include_revoked=True)] == ["t3", "t1", "t2"]
        found = store.find_token_by_hash("1" * 64)
        assert found is not None and found.revoked_at == 50
        with pytest.raises(NotFoundError):
            store.revoke_token("nope", 1)

    def test_touch_token(self, store: AuthStore) -> None:
        store.create_user("bob", Role.EDITOR, 1)
        store.create_token("t1", "bob", Role.EDITOR, "a" * 64, 1)
        store.touch_token("t1", 99)
        found = store.find_token_by_hash("a" * 64)
        assert found is not None and found.last_used_at == 99
        with pytest.raises(NotFoundError):
            store.touch_token("nope", 1)
