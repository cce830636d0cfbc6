"""Cache hits, and what invalidates them: code, parameters, inputs; and turning the cache off."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import shipyard as sy
from shipyard.pipelines.models import PipelineStatus, StepRun, StepStatus
from shipyard.pipelines.service import PipelineService

from . import flows


def statuses(service: PipelineService, run_id: str) -> dict[str, str]:
    return {s.node: s.status.value for s in service.list_steps(run_id)}


def ran(steps: list[StepRun]) -> set[str]:
    return {s.node for s in steps if s.status is StepStatus.SUCCEEDED}


def test_a_rerun_reuses_every_output_without_running_anything(service: PipelineService) -> None:
    first = service.run(flows.arithmetic, {"n": 5})
    assert first.status is PipelineStatus.SUCCEEDED
    assert service.output(first.id) == {"total": 10, "scaled": 20.0}
    again = service.run(flows.arithmetic, {"n": "5"})
    steps = service.list_steps(again.id)
    assert {s.status for s in steps} == {StepStatus.CACHED} and all(s.cache_hit for s in steps)
    assert service.output(again.id) == {"total": 10, "scaled": 20.0}
    before = {s.node: s.outputs for s in service.list_steps(first.id)}
    assert {s.node: s.outputs for s in steps} == before


def test_a_changed_parameter_reruns_only_the_steps_that_read_it_and_their_dependents(
    service: PipelineService,
) -> None:
    service.run(flows.arithmetic, {"n": 5, "factor": 2.0})
    changed = service.run(flows.arithmetic, {"n": 5, "factor": 3.0})
    assert statuses(service, changed.id) == {
        "numbers": "cached",
        "total": "cached",
        "scale": "succeeded",
        "total_2": "succeeded",
    }
    assert service.output(changed.id, "scaled") == 30.0


def test_a_changed_input_reruns_its_readers_and_an_unchanged_one_does_not(
    service: PipelineService, tmp_path: Path
) -> None:
    data, counter = tmp_path / "data.txt", tmp_path / "length-calls"
    data.write_text("abc")
    params = {"path": str(data), "counter": str(counter)}
    first = service.run(flows.measure, params)
    assert service.output(first.id) == 3
    same = service.run(flows.measure, params)  # read_text has cache=False: it runs, with the same output
    assert statuses(service, same.id) == {"read_text": "succeeded", "length": "cached"}
    data.write_text("abcdef")
    changed = service.run(flows.measure, params)
    assert statuses(service, changed.id) == {"read_text": "succeeded", "length": "succeeded"}
    assert service.output(changed.id) == 6
    assert counter.read_text() == "2"


def test_no_cache_runs_every_step_and_refreshes_the_cache(service: PipelineService) -> None:
    service.run(flows.arithmetic)
    forced = service.run(flows.arithmetic, cache=False)
    assert set(statuses(service, forced.id).values()) == {"succeeded"}
    assert set(statuses(service, service.run(flows.arithmetic).id).values()) == {"cached"}


STEPS_V1 = """
import shipyard as sy


@sy.step
def source(n: int) -> list:
    return list(range(n))


@sy.step
def transform(values: list) -> list:
    return [v + 1 for v in values]


@sy.step
def report(values: list) -> int:
    return sum(values)


@sy.step
def other(n: int) -> int:
    return n * 100


@sy.pipeline
def flow(n: int = 4):
    return {"report": report(transform(source(n))), "other": other(n)}
"""


@pytest.fixture
def flow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "changing_flow.py").write_text(STEPS_V1)
    monkeypatch.syspath_prepend(str(folder))
    yield folder / "changing_flow.py"
    sys.modules.pop("changing_flow", None)


def test_changing_one_steps_code_reruns_it_and_what_depends_on_it_only(
    service: PipelineService, flow_module: Path
) -> None:
    module = importlib.import_module("changing_flow")
    first = service.run(module.flow)
    assert service.output(first.id) == {"report": 10, "other": 400}
    # Comments, spacing and decorator options are not code changes.
    cosmetic = STEPS_V1.replace("return [v + 1 for v in values]", "return [v+1 for v in values]  # same")
    flow_module.write_text(cosmetic.replace("@sy.step\ndef transform", "@sy.step(retries=2)\ndef transform"))
    module = importlib.reload(module)
    assert set(statuses(service, service.run(module.flow).id).values()) == {"cached"}
    flow_module.write_text(
        STEPS_V1.replace("return [v + 1 for v in values]", "return [v + 2 for v in values]")
    )
    module = importlib.reload(module)
    changed = service.run(module.flow)
    assert statuses(service, changed.id) == {
        "source": "cached",
        "transform": "succeeded",
        "report": "succeeded",
        "other": "cached",
    }
    assert service.output(changed.id) == {"report": 14, "other": 400}


def test_a_step_with_cache_off_always_runs(service: PipelineService, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("x")
    params = {"path": str(data), "counter": str(tmp_path / "c")}
    service.run(flows.measure, params)
    assert statuses(service, service.run(flows.measure, params).id)["read_text"] == "succeeded"


def test_the_sdk_runs_pipelines_by_name_and_reads_their_runs(service: PipelineService) -> None:
    run = sy.pipelines.run("tests.unit.pipelines.flows:arithmetic", {"n": "3"})
    assert run.source == "tests.unit.pipelines.flows:arithmetic"
    assert sy.pipelines.get(run.id[-6:]) == run
    assert [r.id for r in sy.pipelines.list("arithmetic")] == [run.id]
    assert sy.pipelines.output(run.id, "total") == 3
    assert sy.pipelines.output(run.id, "numbers") == [0, 1, 2]
    assert [s.node for s in sy.pipelines.step_runs(run.id)] == ["numbers", "total", "scale", "total_2"]
    assert sy.pipelines.clear_cache() == 4
    assert set(statuses(service, sy.pipelines.run(flows.arithmetic, {"n": 3}).id).values()) == {"succeeded"}
