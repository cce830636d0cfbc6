"""The validation-store contract on every local backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import pytest

from shipyard.core.errors import AlreadyExistsError
from shipyard.core.plugins import resolve
from shipyard.db import tables as t
from shipyard.db.engine import get_engine
from shipyard.validation.models import CheckResult, ValidationResult
from shipyard.validation.store import VALIDATION_STORES
from shipyard.validation.store.base import ValidationStore
from shipyard.validation.store.memory import MemoryValidationStore
from shipyard.validation.store.sql import SqlValidationStore

V1, V2 = "1" * 32, "2" * 32
DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def result(
    version: str | None, digest: str, at: int, success: bool = True, **extra: object
) -> ValidationResult:
    check = CheckResult(
        check={"column": "amount", "between": {"min": 0}},
        kind="between",
        column="amount",
        success=success,
        observed=0.5,
        expected="0 <= amount",
        failing_rows=0 if success else 3,
        failing_fraction=0.0 if success else 0.5,
        sample=[] if success else [{"amount": -1.0, "when": "2024-01-01T00:00:00"}],
        message="m",
        details={"evaluated_rows": 6},
    )
    return ValidationResult("s", digest, "sales@1", success, [check], at, version, **extra)  # type: ignore[arg-type]


class ValidationStoreContract:
    """What every :class:`ValidationStore` must do."""

    def test_save_and_read_back(self, store: ValidationStore) -> None:
        saved = result(V1, DIGEST_A, 10, success=False)
        result_id = store.save_result(saved)
        assert len(result_id) == 32
        (back,) = store.list_results(V1)
        assert back.id == result_id and back.to_dict() == {**saved.to_dict(), "id": result_id}

    def test_filters_and_newest_first(self, store: ValidationStore) -> None:
        ids = [
            store.save_result(result(V1, DIGEST_A, 10)),
            store.save_result(result(V1, DIGEST_B, 20)),
            store.save_result(result(V2, DIGEST_A, 30)),
            store.save_result(result(None, DIGEST_A, 40)),
        ]
        assert [r.id for r in store.list_results()] == ids[::-1]
        assert [r.id for r in store.list_results(V1)] == [ids[1], ids[0]]
        assert [r.id for r in store.list_results(suite_digest=DIGEST_A)] == [ids[3], ids[2], ids[0]]
        assert [r.id for r in store.list_results(V1, DIGEST_A)] == [ids[0]]
        assert [r.id for r in store.list_results(limit=2)] == [ids[3], ids[2]]
        assert store.list_results(V2, DIGEST_B) == []

    def test_latest_result(self, store: ValidationStore) -> None:
        assert store.latest_result(V1, DIGEST_A) is None
        store.save_result(result(V1, DIGEST_A, 10, success=True))
        newest = store.save_result(result(V1, DIGEST_A, 20, success=False))
        store.save_result(result(V1, DIGEST_B, 30))
        found = store.latest_result(V1, DIGEST_A)
        assert found is not None and found.id == newest and not found.success

    def test_chosen_ids_are_unique(self, store: ValidationStore) -> None:
        chosen = "c" * 32
        assert store.save_result(result(V1, DIGEST_A, 10, id=chosen)) == chosen
        with pytest.raises(AlreadyExistsError):
            store.save_result(result(V2, DIGEST_A, 20, id=chosen))
        assert [r.id for r in store.list_results()] == [chosen]


def add_versions(uri: str) -> None:
    """Dataset versions V1 and V2, which stored results refer to."""
    with get_engine(uri).begin() as conn:
        conn.execute(t.datasets.insert().values(id="d" * 32, name="sales", created_at=0))
        for number, version_id in enumerate((V1, V2), start=1):
            conn.execute(
                t.dataset_versions.insert().values(
                    id=version_id, dataset_id="d" * 32, version=number, digest="blake3:x", created_at=0,
                    kind="file", file_count=0, size=0, manifest="[]",
                )
            )  # fmt: skip


class TestMemoryValidationStore(ValidationStoreContract):
    @pytest.fixture
    def store(self) -> ValidationStore:
        return MemoryValidationStore()


class TestSqliteValidationStore(ValidationStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> ValidationStore:
        store = SqlValidationStore(sqlite_uri)
        add_versions(sqlite_uri)
        return store

    def test_unknown_version_is_refused(self, store: ValidationStore) -> None:
        from shipyard.core.errors import NotFoundError

        with pytest.raises(NotFoundError, match="does not exist"):
            store.save_result(result("9" * 32, DIGEST_A, 10))
        assert store.list_results() == []


@pytest.mark.postgres
class TestPostgresValidationStore(ValidationStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> ValidationStore:
        store = SqlValidationStore(postgres_uri)
        add_versions(postgres_uri)
        return store


def test_backends_resolve_by_scheme(sqlite_uri: str) -> None:
    assert resolve(VALIDATION_STORES, "memory://", "validation store") is MemoryValidationStore
    assert resolve(VALIDATION_STORES, sqlite_uri, "validation store") is SqlValidationStore
    assert resolve(VALIDATION_STORES, "postgresql://u@h/db", "validation store") is SqlValidationStore
