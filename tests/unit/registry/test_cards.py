"""Model cards from plain registry records, rendered as Markdown and self-contained HTML."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from typing import Any

import pytest

from shipyard.core.errors import NotFoundError
from shipyard.registry.cards import (
    NOT_DOCUMENTED,
    STANDARD_FIELDS,
    DataValidation,
    ModelCard,
    build_card,
    render_html,
    render_markdown,
    title,
)
from shipyard.registry.models import AliasChange, Approval, Evaluation, ModelVersion, RegisteredModel
from shipyard.validation.models import ValidationResult

PNG = b"\x89PNG\r\n\x1a\n fake png bytes"
SCRIPT = "<script>alert('x')</script>"


def model(**kwargs: Any) -> RegisteredModel:
    fields = {
        "intended_use": "Rank accounts by churn risk.\nNot for credit decisions.",
        "owner": "growth team",
    }
    return RegisteredModel(
        **{"name": "churn", "created_at": 0, "description": "Churn model", "fields": fields, **kwargs}
    )


def version(**kwargs: Any) -> ModelVersion:
    values: dict[str, Any] = {
        "id": "v" * 32,
        "name": "churn",
        "version": 3,
        "model_uri": "runs:/r1/model",
        "run_id": "r1",
        "package_digest": "blake3:abc",
        "flavor": "sklearn",
        "created_by": "ana",
        "created_at": 1_700_000_000_000,
        "datasets": ["customers@2"],
        "commit": "0123abcd",
        "description": None,
    }
    return ModelVersion(**{**values, **kwargs})


def evaluation(**kwargs: Any) -> Evaluation:
    values: dict[str, Any] = {
        "id": "e1",
        "model_name": "churn",
        "model_version": 3,
        "package_digest": "blake3:abc",
        "model_uri": "runs:/r1/model",
        "dataset_ref": "holdout@1",
        "dataset_digest": "blake3:holdout",
        "target": "churned",
        "task": "classification",
        "metrics": {"accuracy": 0.91234567, "roc_auc": float("nan")},
        "confusion_matrix": [[50, 3], [4, 43]],
        "slices": {"region": {"north|east": {"n_rows": 60.0, "accuracy": 0.9}, "south": {"n_rows": 40.0}}},
        "fairness": {"region": {"demographic_parity_difference": 0.05, "equal_opportunity_difference": 0.02}},
        "plots": {"roc.png": "digest-roc"},
        "n_rows": 100,
        "created_at": 1_700_000_100_000,
        "created_by": "ana",
    }
    return Evaluation(**{**values, **kwargs})


def change(seq: int, from_version: int | None, to_version: int | None, **kwargs: Any) -> AliasChange:
    return AliasChange(
        seq, "churn", "production", from_version, to_version, "bo", 1_700_000_200_000 + seq, **kwargs
    )


def full_card(**kwargs: Any) -> ModelCard:
    result = ValidationResult("schema", "d1", "customers@2", True, [], 1_700_000_050_000)
    arguments: dict[str, Any] = {
        "evaluations": [evaluation()],
        "approvals": [
            Approval("churn", 3, "production", "cy", "approver", 1_700_000_150_000, "looks good | ship it"),
            Approval("churn", 2, "production", "cy", "approver", 1_600_000_000_000, "older version"),
        ],
        "history": [
            change(1, None, 2),
            change(2, 2, 3, reason="better recall"),
            change(3, 1, 2, action="rollback"),
        ],
        "validations": {
            "customers@2": [result, DataValidation("ranges", False, 1_700_000_060_000)],
            "extra@1": [],
        },
        "aliases": {"production": 3, "staging": 4},
        "load_plot": lambda digest: PNG,
        **kwargs,
    }
    return build_card(model(), version(), **arguments)


def test_markdown_has_every_section_in_order() -> None:
    text = render_markdown(full_card())
    headings = [line for line in text.splitlines() if line.startswith("#")]
    expected = [
        "# Model card: churn v3",
        "## Model details",
        *[f"## {title(name)}" for name in STANDARD_FIELDS],
        "## Owner",
        "## Lineage",
        "## Training data",
        "### customers@2",
        "### extra@1",
        "## Evaluations",
        "### holdout@1",
        "## Approvals",
        "## Alias history",
    ]
    assert headings == expected
    assert "| Run | r1 |" in text and "| Code commit | 0123abcd |" in text
    assert "| schema | passed |" in text and "| ranges | FAILED |" in text
    assert "No validation results." in text  # extra@1
    assert "| accuracy | 0.9123 |" in text and "| roc_auc | n/a |" in text
    assert "| 50 | 3 |" in text
    assert "| region | 0.05 | 0.02 |" in text
    assert "| Aliases | production |" in text


def test_markdown_keeps_free_text_verbatim_and_escapes_only_table_pipes() -> None:
    description = 'Scores <b>accounts</b> & "teams" with *care*'
    card = build_card(model(), version(description=description), evaluations=[evaluation()])
    text = render_markdown(card)
    assert description in text
    assert "Rank accounts by churn risk.\nNot for credit decisions." in text
    assert "&lt;" not in text and "&amp;" not in text
    assert "| north\\|east | 60 | 0.9 |" in text
    assert "| south | 40 | n/a |" in text


def test_html_escapes_everything_user_written() -> None:
    card = build_card(
        model(fields={"intended_use": SCRIPT, SCRIPT: "odd field name"}),
        version(description=SCRIPT),
        evaluations=[evaluation(slices={"region": {SCRIPT: {"n_rows": 1.0}}}, target=SCRIPT)],
        approvals=[Approval("churn", 3, "production", "cy", "approver", 0, SCRIPT)],
    )
    page = render_html(card)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    markdown = render_markdown(card)
    assert SCRIPT in markdown  # Markdown is left as written


def test_missing_fields_are_shown_as_not_documented() -> None:
    bare_model = RegisteredModel("churn", created_at=0)
    card = build_card(bare_model, version(datasets=[], commit=None))
    assert card.description == NOT_DOCUMENTED
    assert card.fields == dict.fromkeys(STANDARD_FIELDS, NOT_DOCUMENTED)
    text = render_markdown(card)
    assert text.count(NOT_DOCUMENTED) == 1 + len(STANDARD_FIELDS) + 3  # + commit, datasets, training data
    assert "## Evaluations\n\nNone recorded." in text
    page = render_html(card)
    assert page.count(f'class="undocumented">{NOT_DOCUMENTED}<') == 1 + len(STANDARD_FIELDS) + 3


def test_blank_field_values_count_as_not_documented() -> None:
    card = build_card(model(fields={"limitations": "   ", "intended_use": "x"}), version())
    assert card.fields["limitations"] == NOT_DOCUMENTED and card.fields["intended_use"] == "x"


def test_only_this_versions_approvals_history_and_aliases_are_kept() -> None:
    card = full_card()
    assert [a.comment for a in card.approvals] == ["looks good | ship it"]
    assert [c.seq for c in card.alias_history] == [2]
    assert card.aliases == ["production"]
    assert "| looks good \\| ship it |" in render_markdown(card)


def test_plots_are_embedded_as_data_uris_when_their_bytes_load() -> None:
    page = render_html(full_card())
    assert 'src="data:image/png;base64,' + base64.b64encode(PNG).decode() + '"' in page

    def missing(digest: str) -> bytes:
        raise NotFoundError(f"no blob {digest}")

    card = full_card(load_plot=missing)
    assert card.evaluations[0].plots == {"roc.png": "digest-roc"}
    page = render_html(card)
    assert "data:image" not in page and "digest-roc" in page


def test_html_is_self_contained_and_well_formed() -> None:
    page = render_html(full_card())
    assert page.startswith("<!DOCTYPE html>")
    for outside in ("<link", "<script", 'src="http', "@import", "url("):
        assert outside not in page

    class Balance(HTMLParser):
        VOID = {"meta", "img", "br", "hr", "link", "input"}

        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag not in self.VOID:
                self.open.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert self.open and self.open[-1] == tag, (tag, self.open[-3:])
            self.open.pop()

    checker = Balance()
    checker.feed(page)
    checker.close()
    assert checker.open == []


def test_to_dict_is_json_ready() -> None:
    data = full_card().to_dict()
    assert data["evaluations"][0]["plots"] == {"roc.png": None}
    assert data["lineage"]["run_id"] == "r1"
    assert data["training_data"][0]["validations"][0] == {
        "suite": "schema",
        "passed": True,
        "at": 1_700_000_050_000,
    }
    json.dumps(data)


@pytest.mark.parametrize(("name", "expected"), [("intended_use", "Intended use"), ("a", "A"), ("", "")])
def test_titles(name: str, expected: str) -> None:
    assert title(name) == expected
