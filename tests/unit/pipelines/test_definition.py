"""What is decided when a pipeline is defined: the graph, and every error that needs no run."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.graph import Graph, Node, Param, Ref
from shipyard.pipelines.params import ParamSpec

from . import flows


def test_the_graph_is_known_before_anything_runs() -> None:
    graph = flows.arithmetic.graph
    assert list(graph.nodes) == ["numbers", "total", "scale", "total_2"]
    assert graph.nodes["total_2"].upstream == ("scale",)
    assert graph.nodes["scale"].arguments == {"values": Ref("numbers"), "factor": Param("factor")}
    assert {k: r.key for k, r in graph.outputs.items()} == {
        "total": "total.output",
        "scaled": "total_2.output",
    }
    assert graph.params["n"] == ParamSpec("n", "int", 4)
    assert graph.downstream("numbers") == ["total", "scale", "total_2"]


def test_steps_and_pipelines_are_plain_functions_outside_a_run() -> None:
    assert flows.total([1, 2, 3]) == 6
    assert flows.arithmetic(3, 2.0) == {"total": 3, "scaled": 6.0}


def test_a_missing_argument_of_a_step_is_an_error_at_definition() -> None:
    with pytest.raises(InvalidInputError, match="step 'scale': missing a required argument: 'values'"):

        @sy.pipeline
        def broken() -> Any:
            return flows.scale(factor=2.0)


def test_an_unknown_argument_of_a_step_is_an_error_at_definition() -> None:
    with pytest.raises(InvalidInputError, match=r"step 'total'.*unexpected keyword argument 'extra'"):

        @sy.pipeline
        def broken() -> Any:
            return flows.total(values=flows.numbers(3), extra=1)


@pytest.mark.parametrize(
    ("use", "shown"),
    [
        (lambda h: h + 1, "+"),
        (lambda h: 1 + h, "+"),
        (lambda h: bool(h), "bool"),
        (lambda h: h.shape, ".shape"),
        (lambda h: h[0], r"\[...\]"),
        (lambda h: f"{h}", "format"),
        (lambda h: list(h), "iteration"),
        (lambda h: h == 3, "=="),
        (lambda h: len(h), "len"),
    ],
)
def test_using_an_output_for_anything_but_passing_it_on_is_refused(use: Any, shown: str) -> None:
    with pytest.raises(InvalidInputError, match=rf"the output of step 'numbers' has no value.*{shown}"):

        @sy.pipeline
        def broken() -> Any:
            return flows.total(use(flows.numbers(3)))


def test_a_parameter_is_a_placeholder_too() -> None:
    with pytest.raises(InvalidInputError, match=r"parameter 'n' has no value.*\*"):

        @sy.pipeline
        def broken(n: int = 3) -> Any:
            return flows.numbers(n * 2)


def test_an_output_of_another_pipeline_is_an_unknown_step() -> None:
    leaked: list[Any] = []

    @sy.pipeline
    def first() -> Any:
        leaked.append(flows.numbers(3))
        return leaked[0]

    with pytest.raises(InvalidInputError, match="output of step 'numbers' belongs to another pipeline"):

        @sy.pipeline
        def second() -> Any:
            return flows.total(leaked[0])


def test_graph_build_refuses_unknown_steps_outputs_parameters_and_cycles() -> None:
    a, b, c = flows.total, flows.scale, flows.after
    with pytest.raises(
        InvalidInputError, match="reads the output of step 'ghost', which is not in the pipeline"
    ):
        Graph.build([Node("a", a, {"values": Ref("ghost")})], {})
    with pytest.raises(InvalidInputError, match="reads output 'mean' of step 'a'; it has: output"):
        Graph.build([Node("a", a, {}), Node("b", b, {"values": Ref("a", "mean")})], {})
    with pytest.raises(InvalidInputError, match="reads parameter 'n', which the pipeline does not have"):
        Graph.build([Node("a", a, {"values": Param("n")})], {})
    cycle = [
        Node("a", a, {"values": Ref("c")}),
        Node("b", b, {"values": Ref("a")}),
        Node("c", c, {"value": Ref("b")}),
        Node("d", c, {"value": 1}),
    ]
    with pytest.raises(
        InvalidInputError,
        match=r"the steps form a cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)",
    ):
        Graph.build(cycle, {})


def test_arguments_must_be_json_values() -> None:
    with pytest.raises(InvalidInputError, match=r"'values': a builtins\.object cannot be an argument"):

        @sy.pipeline
        def broken() -> Any:
            return flows.total(object())

    with pytest.raises(InvalidInputError, match="not a finite number"):

        @sy.pipeline
        def nan() -> Any:
            return flows.total([float("nan")])


def test_outputs_may_be_gathered_in_lists_and_dicts() -> None:
    @sy.pipeline
    def gather() -> Any:
        parts = [flows.numbers(i) for i in range(3)]
        return flows.total({"all": parts, "first": parts[0]})

    node = gather.graph.nodes["total"]
    assert node.upstream == ("numbers", "numbers_2", "numbers_3")
    assert node.arguments["values"] == {
        "all": [Ref("numbers"), Ref("numbers_2"), Ref("numbers_3")],
        "first": Ref("numbers"),
    }


def test_a_pipeline_called_inside_another_joins_its_graph() -> None:
    @sy.pipeline
    def outer(n: int = 2) -> Any:
        inner = flows.arithmetic(n, 3.0)
        return flows.after(inner["total"])

    assert list(outer.graph.nodes) == ["numbers", "total", "scale", "total_2", "after"]


def test_a_pipeline_must_return_outputs_of_steps() -> None:
    with pytest.raises(InvalidInputError, match="must return None, a step's output"):

        @sy.pipeline
        def broken() -> Any:
            flows.numbers(3)
            return 3


def test_bad_step_definitions_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"\*args and \*\*kwargs are not supported"):

        @sy.step
        def variadic(*values: int) -> int:
            return sum(values)

    with pytest.raises(InvalidInputError, match="retries must be an integer >= 0"):
        sy.step(retries=-1)
    with pytest.raises(InvalidInputError, match="timeout must be a number of seconds > 0"):
        sy.step(timeout=0)
    with pytest.raises(InvalidInputError, match="outputs must be distinct"):
        sy.step(outputs=("a", "a"))


def test_a_multi_output_step_returns_one_handle_per_output() -> None:
    graph = flows.tabular.graph
    assert {k: r.key for k, r in graph.outputs.items()} == {
        "frame": "make_frame.output",
        "mean": "summarize.mean",
        "rows": "summarize.rows",
    }


def test_parameters_are_bound_with_types_from_the_signature() -> None:
    assert flows.arithmetic.bind({"n": "7", "factor": "0.5"}) == {"n": 7, "factor": 0.5}
    assert flows.arithmetic.bind({}) == {"n": 4, "factor": 2.0}
    assert flows.arithmetic.bind({"factor": 3}) == {"n": 4, "factor": 3.0}
    with pytest.raises(InvalidInputError, match="parameter 'n' must be an int, got 'seven'"):
        flows.arithmetic.bind({"n": "seven"})
    with pytest.raises(InvalidInputError, match="has no parameter 'm'; its parameters: n, factor"):
        flows.arithmetic.bind({"m": 1})
    with pytest.raises(InvalidInputError, match="needs parameter\\(s\\) 'flag', 'counter'"):
        flows.fragile.bind({})
    with pytest.raises(InvalidInputError, match="must be an int, got True"):
        flows.arithmetic.bind({"n": True})


@given(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans())
def test_text_parameters_round_trip_to_their_types(number: int, real: float, flag: bool) -> None:
    assert ParamSpec("a", "int").coerce(str(number)) == number
    assert ParamSpec("b", "float").coerce(repr(real)) == real
    assert ParamSpec("c", "bool").coerce(str(flag).lower()) is flag
    assert ParamSpec("d", "list").coerce(f"[{number}]") == [number]


def test_same_step_twice_gets_numbered_nodes() -> None:
    assert [n for n in flows.branches.graph.nodes][:4] == ["noop", "noop_2", "noop_3", "noop_4"]
