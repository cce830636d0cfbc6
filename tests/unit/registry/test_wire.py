"""The JSON shape of registry records: every record reads back as it was written, NaN included."""

from __future__ import annotations

import math

import orjson
import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.registry import wire
from shipyard.registry.models import (
    AliasChange,
    Approval,
    Delivery,
    Evaluation,
    GateSpec,
    ModelVersion,
    Policy,
    RegisteredModel,
    Webhook,
)

DIGEST = "blake3:" + "a" * 64


def through_json(body: object) -> object:
    return orjson.loads(orjson.dumps(body))


def test_records_read_back() -> None:
    model = RegisteredModel("fraud", 1, "card fraud", {"intended_use": "scoring"}, 3, "ann")
    version = ModelVersion(
        "0" * 32, "fraud", 3, "runs:/r1/model", "r1", DIGEST, "sklearn", "ann", 5, ["tx@2"], "c0"
    )
    change = AliasChange(7, "fraud", "production", 2, 3, "root", 9, "why", "override", {"passed": False})
    policy = Policy("fraud", "production", [GateSpec("approvals", {"count": 1})], "root", 4)
    approval = Approval("fraud", 3, "production", "amy", "approver", 8, "fine")
    delivery = Delivery("1" * 32, "2" * 32, "alias.changed", {"x": 1}, "failed", 6, 503, "HTTP 503", 1, None)
    for record, write, read in [
        (model, wire.model_json, wire.model_from_json),
        (version, wire.version_json, wire.version_from_json),
        (change, wire.change_json, wire.change_from_json),
        (policy, wire.policy_json, wire.policy_from_json),
        (approval, wire.approval_json, wire.approval_from_json),
        (delivery, wire.delivery_json, wire.delivery_from_json),
    ]:
        assert read(through_json(write(record))) == record  # type: ignore[operator]
    assert wire.version_json(version)["uri"] == "models:/fraud/3"


def test_evaluations_keep_non_finite_numbers() -> None:
    evaluation = Evaluation(
        "3" * 32, "fraud", 3, DIGEST, "runs:/r1/model", "holdout@1", DIGEST, "y", "classification",
        {"roc_auc": math.nan, "log_loss": math.inf, "accuracy": 0.5}, [[1, 2], [3, 4]],
        {"gender": {"f": {"accuracy": -math.inf}}}, {"gender": {"demographic_parity_difference": math.nan}},
        {"roc.png": DIGEST}, 10, 11, "ann",
    )  # fmt: skip
    body = through_json(wire.evaluation_json(evaluation))
    assert body["metrics"]["roc_auc"] == "NaN" and body["slices"]["gender"]["f"]["accuracy"] == "-Infinity"  # type: ignore[index]
    back = wire.evaluation_from_json(body)  # type: ignore[arg-type]
    assert math.isnan(back.metrics["roc_auc"]) and back.metrics["log_loss"] == math.inf
    assert back.slices["gender"]["f"]["accuracy"] == -math.inf
    assert math.isnan(back.fairness["gender"]["demographic_parity_difference"])
    assert (back.plots, back.confusion_matrix, back.id) == (
        evaluation.plots,
        evaluation.confusion_matrix,
        evaluation.id,
    )
    for bad in ({"metrics": {"auc": "high"}}, {"metrics": {"auc": True}}, {"slices": {"gender": 1}}):
        with pytest.raises(InvalidInputError):
            wire.evaluation_from_json({**body, **bad})  # type: ignore[dict-item]


def test_webhook_secrets_never_travel() -> None:
    signed = Webhook("4" * 32, "http://x/hook", ["alias.*"], "s3cret", 1)
    body = wire.webhook_json(signed)
    assert "secret" not in body and body["has_secret"] is True and "s3cret" not in orjson.dumps(body).decode()
    assert wire.webhook_from_json(body).secret == wire.HIDDEN_SECRET
    unsigned = Webhook("5" * 32, "http://x/hook", ["*"], None, 1)
    assert wire.webhook_from_json(wire.webhook_json(unsigned)) == unsigned
