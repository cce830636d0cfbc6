"""Policy files: every gate form, errors that name the line, and the written form read back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.registry import gates
from shipyard.registry.models import GateSpec
from shipyard.registry.policy_file import load_policy_file, parse_policy, short_form

EVERY_FORM = """\
# production
- {metric: roc_auc, op: ">=", value: 0.9, dataset: holdout}
- {beats_champion: log_loss, min_delta: 0.01, dataset: holdout@2}
- {validated: transactions}
- fairness: demographic_parity_difference
  op: "<="
  threshold: 0.1
  slice: gender
- {approvals: 2}
- {card_fields: [intended_use, limitations]}
- {kind: metric, params: {metric: f1, op: ">", threshold: 0.5}}
"""


def test_every_form_is_read() -> None:
    assert parse_policy(EVERY_FORM) == [
        gates.metric("roc_auc", ">=", 0.9, dataset="holdout"),
        gates.beats_champion("log_loss", 0.01, dataset="holdout@2"),
        gates.validated("transactions"),
        gates.fairness("demographic_parity_difference", "<=", 0.1, slice="gender"),
        gates.approvals(2),
        gates.card_fields(["intended_use", "limitations"]),
        GateSpec("metric", {"metric": "f1", "op": ">", "threshold": 0.5}),
    ]


def test_a_mapping_with_gates_and_an_empty_file() -> None:
    assert parse_policy("gates:\n  - {approvals: 1}\n") == [gates.approvals(1)]
    assert parse_policy("") == [] and parse_policy("gates: []") == [] and parse_policy("[]") == []


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("- {approvals: 1}\n- {metric: auc, op: '=>', value: 1}", 2, "unknown comparison '=>'"),
        (
            "- {approvals: 1}\n\n- {metric: auc, op: '>=', valeu: 1}",
            3,
            "unknown key 'valeu' in a metric gate",
        ),
        ("- {metric: auc, op: '>=', value: high}", 1, "'value' must be a number"),
        ("- {fairness: dpd, op: '<=', value: 0.1}", 1, "a fairness gate needs 'slice'"),
        ("- {approvals: 0}", 1, "whole number >= 1"),
        ("- {approvals: 1, validated: s}", 1, "a gate starts with its kind"),
        ("- {accuracy: 0.9}", 1, "a gate starts with its kind"),
        ("- 3", 1, "a gate is a mapping"),
        ("- {kind: nope}", 1, "unknown gate kind 'nope'"),
        ("metric: auc", 1, "a policy is a list of gates"),
        ("- {approvals: 1}\n- [unclosed", 2, "not valid YAML"),
    ],
)
def test_mistakes_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_policy(text, source="gates.yaml")
    assert caught.value.message.startswith(f"gates.yaml line {line}: ")
    assert message in caught.value.message


def test_files(tmp_path: Path) -> None:
    path = tmp_path / "gates.yaml"
    path.write_text(EVERY_FORM)
    assert len(load_policy_file(path)) == 7
    with pytest.raises(NotFoundError):
        load_policy_file(tmp_path / "missing.yaml")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_policy_file(path)


names = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | st.integers(-1000, 1000)
ops = st.sampled_from([">=", ">", "<=", "<", "=="])
datasets = st.none() | st.from_regex(r"[a-z][a-z0-9_]{0,8}(@[1-9])?", fullmatch=True)
any_gate = st.one_of(
    st.builds(gates.metric, names, ops, numbers, datasets),
    st.builds(gates.beats_champion, names, numbers, datasets, st.none() | st.booleans()),
    st.builds(gates.validated, names),
    st.builds(
        lambda *a: gates.fairness(*a[:3], slice=a[3], dataset=a[4]), names, ops, numbers, names, datasets
    ),
    st.builds(gates.approvals, st.integers(1, 9)),
    st.builds(gates.card_fields, st.lists(names, min_size=1, max_size=4)),
)


@given(st.lists(any_gate, max_size=6))
def test_the_written_form_reads_back(specs: list[GateSpec]) -> None:
    text = yaml.safe_dump([short_form(spec) for spec in specs], sort_keys=False)
    assert parse_policy(text) == specs
