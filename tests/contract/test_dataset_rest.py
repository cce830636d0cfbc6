"""The dataset-store contract over REST: a real server process on a real PostgreSQL database.

One server per module; each test empties the tables first (``postgres_uri``) and
gets a fresh :class:`RestDatasetStore`. The server records a version only when it
holds every file's content with the stated size, and the contract's digests are
made up, so the module puts a blob of the right size under each of them straight
into the server's artifact folder first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.datasets.store.base import DatasetStore
from shipyard.datasets.store.rest import RestDatasetStore
from shipyard.storage.cas import ContentStore
from shipyard.storage.local import LocalBlobStore

from .dataset_contract import DatasetStoreContract, digest, draft
from .server_process import running_server


def seed_contract_blobs(artifacts: Path) -> None:
    """A blob of size ``10 + i`` under ``digest(n * 100 + i)``, for every draft the contract makes."""
    content = ContentStore(LocalBlobStore(artifacts))
    for n in range(1, 10):
        for i in range(2):
            content.blobs.put_bytes(content.key_for(digest(n * 100 + i)), b"x" * (10 + i))


@pytest.fixture(scope="module")
def rest_server(postgres_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("dataset-rest-server")
    seed_contract_blobs(folder / "artifacts")
    with running_server(postgres_database, folder / "artifacts", folder / "home") as url:
        yield url


@pytest.fixture
def rest_store(postgres_uri: str, rest_server: str) -> Iterator[RestDatasetStore]:
    store = RestDatasetStore(rest_server, timeout=30.0)
    yield store
    store.close()


@pytest.mark.postgres
class TestRestDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def store(self, rest_store: RestDatasetStore) -> DatasetStore:
        return rest_store


@pytest.mark.postgres
class TestServerChecksVersions:
    """What the server refuses that a local store would take on trust."""

    def test_content_must_be_on_the_server(self, rest_store: RestDatasetStore) -> None:
        with pytest.raises(InvalidInputError, match="not on the server"):
            rest_store.create_version(draft("a", 42), new_id())
        with pytest.raises(NotFoundError):
            rest_store.get_dataset("a")

    def test_sizes_must_match_the_stored_content(self, rest_store: RestDatasetStore) -> None:
        bad = draft("a", 1)
        files = (bad.files[0].__class__(bad.files[0].path, bad.files[0].digest, 99), bad.files[1])
        with pytest.raises(InvalidInputError, match="99 bytes"):
            rest_store.create_version(
                type(bad)(**{**vars(bad), "files": files, "size": 99 + files[1].size}), new_id()
            )
        with pytest.raises(InvalidInputError, match="not the sum"):
            rest_store.create_version(type(bad)(**{**vars(bad), "size": 1}), new_id())

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("name", "bad name", "invalid dataset name"),
            ("id", "not-an-id", "dataset version id"),
            ("kind", "tree", "invalid dataset kind"),
            ("digest", "sha256:x", "invalid digest"),
        ],
    )
    def test_malformed_drafts_are_refused(
        self, rest_store: RestDatasetStore, field: str, value: str, message: str
    ) -> None:
        bad = type(draft("a", 1))(**{**vars(draft("a", 1)), field: value})
        with pytest.raises(InvalidInputError, match=message):
            rest_store.create_version(bad, new_id())
        assert rest_store.list_datasets() == []

    def test_unsafe_file_paths_are_refused(self, rest_store: RestDatasetStore) -> None:
        base = draft("a", 1)
        entry = base.files[0].__class__("../escape.csv", base.files[0].digest, base.files[0].size)
        with pytest.raises(InvalidInputError, match="file path"):
            rest_store.create_version(type(base)(**{**vars(base), "files": (entry, base.files[1])}), new_id())

    def test_a_new_version_answers_201_and_a_repeat_200(self, rest_server: str, postgres_uri: str) -> None:
        body = {"dataset_id": new_id(), **_wire(draft("a", 1))}
        url = f"{rest_server}/api/v1/datasets/a/versions"
        assert httpx.post(url, json=body).status_code == 201
        again = httpx.post(url, json={**body, "id": new_id()})
        assert again.status_code == 200 and again.json()["id"] == body["id"]
        assert httpx.get(f"{rest_server}/api/v1/datasets/a/latest").json()["version"] == 1
        assert httpx.get(f"{rest_server}/api/v1/datasets/b/latest").json() is None
        assert httpx.post(url, json={**body, "extra": 1}).status_code == 400


def _wire(version: object) -> dict[str, object]:
    from shipyard.datasets.store.rest import version_json

    body = version_json(version)  # type: ignore[arg-type]
    del body["name"], body["version"]
    return body


def test_rest_store_resolves_by_scheme() -> None:
    from shipyard.core.plugins import resolve
    from shipyard.datasets.store import DATASET_STORES

    assert resolve(DATASET_STORES, "http://127.0.0.1:1", "dataset store") is RestDatasetStore
    assert resolve(DATASET_STORES, "https://example.org", "dataset store") is RestDatasetStore


def test_an_empty_name_names_nothing() -> None:
    store = RestDatasetStore("http://127.0.0.1:1", timeout=1.0)
    with pytest.raises(NotFoundError):
        store.get_dataset("")
    store.close()
