"""What ``shipyard models`` and ``shipyard webhooks`` print: tables, ``--json`` documents, gate reports.

``--json`` documents are the REST API's shapes with every time given twice, as
ISO-8601 text and as ``<name>_ms`` (see :mod:`shipyard.cli.output`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from shipyard.cli.output import (
    add_row,
    fmt_value,
    human_time,
    make_table,
    print_fields,
    print_table,
    short_digest,
    summarize,
    time_fields,
)
from shipyard.registry import wire

if TYPE_CHECKING:
    from shipyard.registry.models import (
        AliasChange,
        Approval,
        Delivery,
        Evaluation,
        ModelVersion,
        Policy,
        RegisteredModel,
        Webhook,
    )

MAX_METRICS = 6  # metrics shown per evaluation in a table (--json has them all)
HEADLINE_METRICS = ("roc_auc", "accuracy", "f1", "log_loss", "rmse", "mae", "r2")


def _timed(doc: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        doc.update(time_fields(name, doc.get(name)))
    return doc


# -- --json documents ------------------------------------------------------------------------
def model_doc(model: RegisteredModel, aliases: Mapping[str, int] | None = None) -> dict[str, Any]:
    doc = _timed(wire.model_json(model), "created_at")
    return doc if aliases is None else {**doc, "aliases": dict(aliases)}


def version_doc(version: ModelVersion, aliases: Mapping[str, int] | None = None) -> dict[str, Any]:
    doc = _timed(wire.version_json(version), "created_at")
    if aliases is not None:
        doc["aliases"] = sorted(a for a, held in aliases.items() if held == version.version)
    return doc


def change_doc(change: AliasChange) -> dict[str, Any]:
    return _timed(wire.change_json(change), "at")


def approval_doc(approval: Approval) -> dict[str, Any]:
    return _timed(wire.approval_json(approval), "at")


def evaluation_doc(evaluation: Evaluation) -> dict[str, Any]:
    return _timed(wire.evaluation_json(evaluation), "created_at")


def policy_doc(policy: Policy) -> dict[str, Any]:
    return _timed(wire.policy_json(policy), "updated_at")


def webhook_doc(webhook: Webhook) -> dict[str, Any]:
    return _timed(wire.webhook_json(webhook), "created_at")


def delivery_doc(delivery: Delivery) -> dict[str, Any]:
    return _timed(wire.delivery_json(delivery), "created_at", "delivered_at")


# -- tables ----------------------------------------------------------------------------------
def print_models(models: Sequence[RegisteredModel], aliases: Mapping[str, Mapping[str, int]]) -> None:
    table = make_table("name", "latest", "aliases", "description", "created")
    for model in models:
        held = ", ".join(f"{a}={v}" for a, v in sorted(aliases.get(model.name, {}).items()))
        add_row(table, model.name, str(model.latest_version), held or "-", model.description or "-",
                human_time(model.created_at))  # fmt: skip
    print_table(table, f"{len(models)} registered model{'' if len(models) == 1 else 's'}")


def print_model(model: RegisteredModel, versions: Sequence[ModelVersion], aliases: Mapping[str, int]) -> None:
    held = ", ".join(f"{a}={v}" for a, v in sorted(aliases.items()))
    fields = [
        ("name", model.name),
        ("description", model.description or "-"),
        ("created", f"{human_time(model.created_at)} by {model.created_by or '-'}"),
        ("aliases", held or "-"),
    ]
    fields += [(f"card: {k}", v) for k, v in sorted(model.fields.items())]
    print_fields(f"Model {model.name}", fields)
    print_versions(versions, aliases)


def print_versions(versions: Sequence[ModelVersion], aliases: Mapping[str, int]) -> None:
    table = make_table("version", "aliases", "flavor", "run", "datasets", "created", "by", "description")
    for v in versions:
        held = ", ".join(sorted(a for a, n in aliases.items() if n == v.version))
        add_row(table, str(v.version), held or "-", v.flavor, v.run_id[-8:], ", ".join(v.datasets) or "-",
                human_time(v.created_at), v.created_by, v.description or "-")  # fmt: skip
    print_table(table, "Versions")


def print_version(
    version: ModelVersion,
    aliases: Mapping[str, int],
    evaluations: Sequence[Evaluation] = (),
    approvals: Sequence[Approval] = (),
) -> None:
    held = sorted(a for a, n in aliases.items() if n == version.version)
    fields = {
        "uri": version.uri,
        "package": version.model_uri,
        "digest": short_digest(version.package_digest),
        "flavor": version.flavor,
        "aliases": ", ".join(held) or "-",
        "run": version.run_id,
        "commit": version.commit or "-",
        "datasets": ", ".join(version.datasets) or "-",
        "created": f"{human_time(version.created_at)} by {version.created_by}",
        "description": version.description or "-",
    }
    print_fields(f"{version.name} version {version.version}", fields.items())
    if evaluations:
        print_evaluations(evaluations)
    if approvals:
        table = make_table("alias", "user", "role", "when", "comment")
        for a in approvals:
            add_row(table, a.alias, a.user, a.role, human_time(a.at), a.comment or "-")
        print_table(table, "Approvals")


def print_evaluations(evaluations: Sequence[Evaluation]) -> None:
    table = make_table("dataset", "target", "rows", "metrics", "when", "by")
    for e in evaluations:
        first = [m for m in HEADLINE_METRICS if m in e.metrics] + [
            m for m in e.metrics if m not in HEADLINE_METRICS
        ]
        shown = {m: e.metrics[m] for m in first[:MAX_METRICS]}
        add_row(table, e.dataset_ref, e.target, str(e.n_rows), summarize(shown, MAX_METRICS),
                human_time(e.created_at), e.created_by)  # fmt: skip
    print_table(table, "Evaluations")


ACTION_STYLES = {"promote": "green", "override": "bold red", "rollback": "yellow", "remove": "yellow"}


def print_history(changes: Sequence[AliasChange], heading: str) -> None:
    table = make_table("#", "alias", "from", "to", "action", "by", "when", "reason", "gates")
    for c in changes:
        gates = "-" if c.report is None else ("passed" if c.report.get("passed") else "FAILED")
        add_row(table, str(c.seq), c.alias, fmt_value(c.from_version), fmt_value(c.to_version),
                Text(c.action, style=ACTION_STYLES.get(c.action, "")), c.actor, human_time(c.at),
                c.reason or "-", gates)  # fmt: skip
    print_table(table, heading)


def print_report(report: Mapping[str, Any], heading: str) -> None:
    """A gate report: one row per gate, failures in red."""
    table = make_table("gate", "passed", "observed", "required", "detail")
    for result in report.get("results", []):
        verdict = Text("yes", style="green") if result.get("passed") else Text("NO", style="bold red")
        add_row(table, str(result.get("description") or result.get("kind")), verdict,
                summarize(result.get("observed")), summarize(result.get("required")),
                str(result.get("detail") or ""))  # fmt: skip
    print_table(table, heading)


def print_change(change: AliasChange) -> None:
    moved = (
        f"{change.name}@{change.alias}: {fmt_value(change.from_version)} -> {fmt_value(change.to_version)}"
    )
    style = ACTION_STYLES.get(change.action, "")
    from shipyard.cli.output import console

    console().print(Text(f"{change.action}: {moved}", style=style))
    if change.report is not None:
        print_report(change.report, "Gates")


def print_webhooks(webhooks: Sequence[Webhook]) -> None:
    table = make_table("id", "url", "events", "signed", "active", "created")
    for w in webhooks:
        add_row(table, w.id, w.url, ", ".join(w.events), "yes" if w.secret else "no",
                "yes" if w.active else "no", human_time(w.created_at))  # fmt: skip
    print_table(table, "Webhooks")


def print_deliveries(deliveries: Sequence[Delivery]) -> None:
    table = make_table("id", "webhook", "event", "status", "attempts", "code", "created", "error")
    styles = {"delivered": "green", "failed": "red", "pending": "cyan"}
    for d in deliveries:
        add_row(table, d.id[-8:], d.webhook_id[-8:], d.event, Text(d.status, style=styles.get(d.status, "")),
                str(d.attempts), fmt_value(d.response_code), human_time(d.created_at),
                d.last_error or "-")  # fmt: skip
    print_table(table, "Deliveries")
