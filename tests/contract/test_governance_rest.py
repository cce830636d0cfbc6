"""The governance contracts over REST: a real server process on a real PostgreSQL database.

One server per module; each test empties the tables first (``postgres_uri``) and
gets fresh REST stores. The server runs on loopback without ``--auth``, so the
caller is anonymous and the ``actor`` and ``time`` it sends are kept, as the
contract expects (with a token, the server records the token's user instead:
see tests/integration/test_server_security.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.governance.store.base import AuditStore, AuthStore
from shipyard.governance.store.rest import RestAuditStore, RestAuthStore

from .governance_contract import AuditStoreContract, AuthStoreContract


@pytest.mark.postgres
class TestRestAuditStore(AuditStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str, rest_server: str) -> Iterator[AuditStore]:
        store = RestAuditStore(rest_server, timeout=30.0)
        yield store
        store.close()


@pytest.mark.postgres
class TestRestAuthStore(AuthStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str, rest_server: str) -> Iterator[AuthStore]:
        store = RestAuthStore(rest_server, timeout=30.0)
        yield store
        store.close()
