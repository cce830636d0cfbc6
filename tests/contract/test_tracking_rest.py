"""The tracking contract over REST: a real server process on a real PostgreSQL database.

One server per module (starting one per test is too slow); each test empties the
tables first (``postgres_uri``) and gets a fresh :class:`RestTrackingStore`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shipyard.client.content import RestContentStore
from shipyard.tracking.store.base import TrackingStore
from shipyard.tracking.store.rest import RestTrackingStore

from .tracking_contract import TrackingStoreContract


@pytest.mark.postgres
class TestRestTrackingStore(TrackingStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str, rest_server: str) -> Iterator[TrackingStore]:
        store = RestTrackingStore(rest_server, timeout=30.0)
        yield store
        store.close()

    @pytest.fixture
    def stored_digest(self, rest_server: str) -> Iterator[Callable[[bytes], str]]:
        """Upload the bytes: the server records an artifact only for content it holds."""
        content = RestContentStore(rest_server, timeout=30.0)
        yield content.put_bytes
        content.close()


def test_rest_store_resolves_by_scheme() -> None:
    from shipyard.core.plugins import resolve
    from shipyard.tracking.store import TRACKING_STORES

    assert resolve(TRACKING_STORES, "http://127.0.0.1:1", "tracking store") is RestTrackingStore
    assert resolve(TRACKING_STORES, "https://example.org", "tracking store") is RestTrackingStore


def test_unreachable_server_is_backend_unavailable(tmp_path: Path) -> None:
    from shipyard.core.errors import BackendUnavailable
    from tests.conftest import free_port

    store = RestTrackingStore(f"http://127.0.0.1:{free_port()}", timeout=2.0)
    with pytest.raises(BackendUnavailable, match="cannot reach Shipyard server at"):
        store.get_run("0" * 32)
    store.close()
