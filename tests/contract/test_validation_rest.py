"""The validation-store contract over REST: a real server process on a real PostgreSQL database.

One server per module; each test empties the tables first (``postgres_uri``),
adds the dataset versions the contract's results refer to, and gets a fresh
:class:`RestValidationStore`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.validation.store.base import ValidationStore
from shipyard.validation.store.rest import RestValidationStore

from .test_validation_stores import DIGEST_A, V1, ValidationStoreContract, add_versions, result


@pytest.fixture
def rest_store(postgres_uri: str, rest_server: str) -> Iterator[RestValidationStore]:
    add_versions(postgres_uri)
    store = RestValidationStore(rest_server, timeout=30.0)
    yield store
    store.close()


@pytest.mark.postgres
class TestRestValidationStore(ValidationStoreContract):
    @pytest.fixture
    def store(self, rest_store: RestValidationStore) -> ValidationStore:
        return rest_store


@pytest.mark.postgres
class TestServerChecksResults:
    def test_unknown_version_is_refused(self, rest_store: RestValidationStore) -> None:
        with pytest.raises(NotFoundError, match="does not exist"):
            rest_store.save_result(result("9" * 32, DIGEST_A, 10))
        assert rest_store.list_results() == []

    def test_malformed_results_are_refused(self, rest_store: RestValidationStore) -> None:
        good = result(V1, DIGEST_A, 10)
        for bad, message in [
            (dataclasses.replace(good, suite_digest="sha256:x"), "suite digest"),
            (dataclasses.replace(good, id="nope"), "validation result id"),
            (dataclasses.replace(good, success=False), "does not agree"),
            (dataclasses.replace(good, dataset_version_id="x"), "dataset version id"),
        ]:
            with pytest.raises(InvalidInputError, match=message):
                rest_store.save_result(bad)
        with pytest.raises(InvalidInputError, match="limit"):
            rest_store.list_results(limit=0)
        assert rest_store.list_results() == []


def test_rest_store_resolves_by_scheme() -> None:
    from shipyard.core.plugins import resolve
    from shipyard.validation.store import VALIDATION_STORES

    assert resolve(VALIDATION_STORES, "http://127.0.0.1:1", "validation store") is RestValidationStore
    assert resolve(VALIDATION_STORES, "https://example.org", "validation store") is RestValidationStore
