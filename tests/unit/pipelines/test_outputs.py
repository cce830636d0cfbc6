"""Step outputs as artifacts by type, and the registry of materialisers."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import shipyard as sy
from shipyard.pipelines import materializers
from shipyard.pipelines.models import PipelineStatus
from shipyard.pipelines.service import PipelineService

from . import flows


@pytest.fixture(autouse=True)
def no_registered_materializers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(materializers, "_registered", [])
    yield


def test_frames_tables_arrays_and_json_are_stored_by_type(service: PipelineService) -> None:
    run = service.run(flows.tabular, {"rows": 40})
    assert run.status is PipelineStatus.SUCCEEDED
    kinds = {s.node: {n: r.materializer for n, r in s.outputs.items()} for s in service.list_steps(run.id)}
    assert kinds == {
        "make_frame": {"output": "pandas@1"},
        "frame_to_arrow": {"output": "arrow@1"},
        "frame_to_matrix": {"output": "numpy@1"},
        "summarize": {"mean": "json@1", "rows": "json@1"},
    }
    expected = flows.make_frame(40)
    pd.testing.assert_frame_equal(service.output(run.id, "frame"), expected)
    table = service.output(run.id, "frame_to_arrow")
    assert isinstance(table, pa.Table) and table.equals(flows.frame_to_arrow(expected))
    np.testing.assert_array_equal(service.output(run.id, "frame_to_matrix"), flows.frame_to_matrix(expected))
    mean, rows = flows.summarize(flows.frame_to_arrow(expected), flows.frame_to_matrix(expected))
    assert service.output(run.id, "mean") == mean and service.output(run.id, "summarize.rows") == rows == 40


def test_equal_values_are_stored_once(service: PipelineService) -> None:
    first = service.run(flows.tabular, {"rows": 10}, cache=False)
    second = service.run(flows.tabular, {"rows": 10}, cache=False)
    digests = [{s.node: s.outputs for s in service.list_steps(r.id)} for r in (first, second)]
    assert digests[0] == digests[1], "materialisers are deterministic: the same value, the same digest"


class FractionMaterializer(materializers.Materializer):
    name, extension = "fraction", ".txt"
    version: ClassVar[str] = "1"

    def handles(self, value: Any) -> bool:
        return isinstance(value, Fraction)

    def dump(self, value: Any) -> bytes:
        return f"{value.numerator}/{value.denominator}".encode()

    def load(self, data: bytes) -> Any:
        return Fraction(data.decode())


class FractionMaterializerV2(FractionMaterializer):
    version: ClassVar[str] = "2"


@sy.step
def third(n: int) -> Fraction:
    return Fraction(n, 3)


@sy.pipeline
def fractions(n: int = 2):
    return third(n)


def test_a_registered_materializer_stores_its_types_and_its_version_keys_the_cache(
    service: PipelineService,
) -> None:
    failed = service.run(fractions)
    assert failed.status is PipelineStatus.FAILED
    assert "returned a fractions.Fraction" in (service.list_steps(failed.id)[0].error or "")
    sy.pipelines.register_materializer(FractionMaterializer())
    run = service.run(fractions)
    assert service.output(run.id) == Fraction(2, 3)
    assert service.list_steps(run.id)[0].outputs["output"].materializer == "fraction@1"
    assert service.list_steps(service.run(fractions).id)[0].cache_hit
    sy.pipelines.register_materializer(FractionMaterializerV2())
    newer = service.list_steps(service.run(fractions).id)[0]
    assert (newer.cache_hit, newer.outputs["output"].materializer) == (False, "fraction@2")


def test_a_wrong_number_of_outputs_is_an_error_naming_the_step(service: PipelineService) -> None:
    @sy.step(outputs=("a", "b"))
    def pair() -> int:
        return 1

    @sy.pipeline
    def one():
        return pair()

    run = service.run(one)
    assert "step 'pair' declares 2 outputs (a, b) but returned a int" in (
        service.list_steps(run.id)[0].error or ""
    )
