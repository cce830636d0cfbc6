"""ValidationService: data in every form, results stored per version, halt, was_validated, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipyard.core.errors import NotFoundError, ValidationFailed
from shipyard.datasets.models import DatasetVersion
from shipyard.validation.models import Between, NotNull, RowCount, Suite
from shipyard.validation.service import ValidationService
from shipyard.validation.store.memory import MemoryValidationStore

SUITE = Suite("amounts", [NotNull("amount"), Between("amount", 0, 100)])


class FakeDatasets:
    """The two DatasetService methods validation uses, over Parquet files in a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions: dict[str, DatasetVersion] = {}

    def add(self, name: str, version: int, frame: pd.DataFrame) -> DatasetVersion:
        found = DatasetVersion(f"{name}{version}".ljust(32, "0"), name, version, "blake3:x", 0, "file", (), 0)
        frame.to_parquet(self.root / f"{found.ref}.parquet")
        self.versions[found.ref] = found
        self.versions[name] = found
        return found

    def get(self, ref: str) -> DatasetVersion:
        if ref not in self.versions:
            raise NotFoundError(f"dataset {ref!r} not found")
        return self.versions[ref]

    def local_path(self, ref: str) -> Path:
        return self.root / f"{self.get(ref).ref}.parquet"


class FakeAudit:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    def record(self, actor: str, action: str, target: str, payload: Any = None) -> None:
        self.events.append((action, target, payload))


@pytest.fixture
def datasets(tmp_path: Path) -> FakeDatasets:
    fake = FakeDatasets(tmp_path)
    fake.add("sales", 1, pd.DataFrame({"amount": [1.0, 2.0, 3.0]}))
    fake.add("sales", 2, pd.DataFrame({"amount": [1.0, None, 300.0]}))
    return fake


@pytest.fixture
def audit() -> FakeAudit:
    return FakeAudit()


@pytest.fixture
def service(datasets: FakeDatasets, audit: FakeAudit) -> ValidationService:
    return ValidationService(MemoryValidationStore(), datasets, audit)  # type: ignore[arg-type]


def test_results_on_versions_are_stored_and_listed(
    service: ValidationService, datasets: FakeDatasets
) -> None:
    good = service.validate(SUITE, "sales@1")
    bad = service.validate(SUITE, datasets.get("sales@2"))
    assert good.success and not bad.success and good.id and bad.id
    assert (good.data_ref, good.dataset_version_id) == ("sales@1", datasets.get("sales@1").id)
    assert [r.id for r in service.list_results("sales@2")] == [bad.id]
    assert {r.id for r in service.list_results()} == {good.id, bad.id}
    assert service.list_results("sales@1")[0] == good


def test_was_validated_gives_the_latest(service: ValidationService) -> None:
    assert service.was_validated("sales@1", SUITE.digest) is None
    first = service.validate(SUITE, "sales@1")
    second = service.validate(SUITE, "sales")  # the latest version: sales@2
    assert service.was_validated("sales@1", SUITE.digest) == first
    found = service.was_validated("sales@2", SUITE.digest)
    assert found is not None and found.id == second.id and not found.success
    assert service.was_validated("sales@1", Suite("x", [RowCount(min=1)]).digest) is None


def test_halt_raises_with_the_stored_result(service: ValidationService) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.validate(SUITE, "sales@2", halt=True)
    result = info.value.result
    assert result is not None and not result.success
    assert "not_null on 'amount'" in info.value.message and "between on 'amount'" in info.value.message
    assert service.list_results("sales@2")[0].id == result.id
    assert service.validate(SUITE, "sales@1", halt=True).success


def test_paths_and_frames_are_not_stored(
    service: ValidationService, tmp_path: Path, audit: FakeAudit
) -> None:
    path = tmp_path / "sales@1.parquet"
    by_path = service.validate(SUITE, str(path))
    by_frame = service.validate(SUITE, pd.DataFrame({"amount": [-1.0]}))
    assert by_path.success and by_path.data_ref == str(path) and by_path.id is None
    assert not by_frame.success and by_frame.data_ref == "<dataframe>"
    assert service.list_results() == []
    assert [action for action, _, _ in audit.events] == ["validation.run", "validation.run"]


def test_suites_as_yaml_dicts_and_files(service: ValidationService, tmp_path: Path) -> None:
    text = "name: s\nchecks:\n  - {column: amount, not_null: true}\n"
    (tmp_path / "s.yaml").write_text(text)
    for suite in (
        text,
        tmp_path / "s.yaml",
        {"name": "s", "checks": [{"column": "amount", "not_null": True}]},
    ):
        assert service.validate(suite, "sales@1").suite_digest == Suite("s", [NotNull("amount")]).digest


def test_audit_names_the_version(
    service: ValidationService, audit: FakeAudit, datasets: FakeDatasets
) -> None:
    result = service.validate(SUITE, "sales@2")
    action, target, payload = audit.events[-1]
    assert (action, target) == ("validation.run", f"dataset_version:{datasets.get('sales@2').id}")
    assert payload["result_id"] == result.id and payload["failed"] == ["not_null", "between"]


def test_unknown_refs_and_no_datasets(tmp_path: Path) -> None:
    alone = ValidationService(MemoryValidationStore())
    with pytest.raises(NotFoundError, match="no such file"):
        alone.validate(SUITE, "sales@1")
    assert alone.validate(SUITE, pd.DataFrame({"amount": [5.0]})).success
