"""Model cards: what a model version is for, where it came from, how it did, who let it through.

:func:`build_card` gathers the registry's records of one version into a :class:`ModelCard`
(plain data); :func:`render_markdown` and :func:`render_html` print it. Card fields the
model does not fill in (``intended_use``, ``limitations`` ... set with
``describe(name, fields={...})``) are shown as *not documented*, never left out, so a
reader sees what is missing. The HTML page is one self-contained file (inline CSS,
evaluation plots embedded as ``data:`` URIs when their bytes are given); every value in
it is escaped.

>>> from shipyard.registry.models import ModelVersion, RegisteredModel
>>> model = RegisteredModel("churn", created_at=0, fields={"intended_use": "Rank accounts"})
>>> version = ModelVersion("id", "churn", 3, "runs:/r1/model", "r1", "digest", "sklearn", "ana", 0)
>>> card = build_card(model, version)
>>> print(render_markdown(card).splitlines()[0])
# Model card: churn v3
>>> card.fields["limitations"]
'not documented'
"""

from __future__ import annotations

import base64
import contextlib
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms, to_datetime
from shipyard.core.errors import ShipyardError
from shipyard.registry.models import AliasChange, Approval, Evaluation, ModelVersion, RegisteredModel

if TYPE_CHECKING:
    import jinja2

    from shipyard.validation.models import ValidationResult

NOT_DOCUMENTED = "not documented"
STANDARD_FIELDS = (
    "intended_use",
    "out_of_scope_use",
    "limitations",
    "ethical_considerations",
    "caveats_and_recommendations",
)


@dataclass(frozen=True)
class DataValidation:
    """One validation suite run on a training dataset version: did it pass, and when (ms)."""

    suite: str
    passed: bool
    at: int


@dataclass(frozen=True)
class TrainingData:
    """A training dataset version (``"name@3"``) and the validation suites run on it."""

    ref: str
    validations: list[DataValidation] = field(default_factory=list)


@dataclass(frozen=True)
class Lineage:
    """Where the version came from: the run, its code commit and its training datasets."""

    run_id: str
    commit: str | None
    model_uri: str
    package_digest: str
    flavor: str
    created_by: str
    created_at: int
    datasets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CardEvaluation:
    """An evaluation as a card shows it. ``plots`` hold PNG bytes (embedded) or a content digest."""

    dataset: str
    dataset_digest: str
    task: str
    target: str
    n_rows: int
    metrics: dict[str, float]
    confusion_matrix: list[list[int]] | None
    slices: dict[str, dict[str, dict[str, float]]]
    fairness: dict[str, dict[str, float]]
    plots: dict[str, bytes | str]
    created_at: int
    created_by: str


@dataclass(frozen=True)
class ModelCard:
    """Everything a card says about one model version. ``fields`` holds every standard field."""

    name: str
    version: int
    description: str
    fields: dict[str, str]
    lineage: Lineage
    training_data: list[TrainingData]
    evaluations: list[CardEvaluation]
    approvals: list[Approval]
    alias_history: list[AliasChange]
    aliases: list[str]
    generated_at: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plots given as bytes become ``null`` (their names stay)."""
        data = asdict(self)
        for evaluation in data["evaluations"]:
            evaluation["plots"] = {
                name: None if isinstance(value, bytes) else value
                for name, value in evaluation["plots"].items()
            }
        return data


def build_card(
    model: RegisteredModel,
    version: ModelVersion,
    *,
    evaluations: Sequence[Evaluation] = (),
    approvals: Sequence[Approval] = (),
    history: Sequence[AliasChange] = (),
    validations: Mapping[str, Sequence[ValidationResult | DataValidation]] | None = None,
    aliases: Mapping[str, int] | None = None,
    load_plot: Callable[[str], bytes] | None = None,
) -> ModelCard:
    """The card of ``version`` of ``model`` from the registry's records.

    ``validations`` maps a dataset reference (``"name@3"``) to the validation results on
    it; ``aliases`` are the model's current aliases (``{"production": 3}``);
    ``load_plot`` turns a plot digest into PNG bytes (a plot it cannot load stays a digest).
    Approvals and alias changes that are not about this version are left out.
    """
    checked = dict(validations or {})
    refs = list(dict.fromkeys([*version.datasets, *checked]))
    return ModelCard(
        name=version.name,
        version=version.version,
        description=_text(version.description) or _text(model.description) or NOT_DOCUMENTED,
        fields=_fields(model.fields),
        lineage=Lineage(
            run_id=version.run_id,
            commit=version.commit,
            model_uri=version.model_uri,
            package_digest=version.package_digest,
            flavor=version.flavor,
            created_by=version.created_by,
            created_at=version.created_at,
            datasets=list(version.datasets),
        ),
        training_data=[TrainingData(ref, [_validation(v) for v in checked.get(ref, ())]) for ref in refs],
        evaluations=[_evaluation(e, load_plot) for e in sorted(evaluations, key=lambda e: e.created_at)],
        approvals=[a for a in approvals if a.name == version.name and a.version == version.version],
        alias_history=[c for c in history if version.version in (c.from_version, c.to_version)],
        aliases=sorted(alias for alias, held in (aliases or {}).items() if held == version.version),
        generated_at=now_ms(),
    )


def _text(value: str | None) -> str:
    return value.strip() if value else ""


def _fields(given: Mapping[str, str]) -> dict[str, str]:
    """Every standard field (filled or ``not documented``), then the model's other fields by name."""
    fields = {name: _text(given.get(name)) or NOT_DOCUMENTED for name in STANDARD_FIELDS}
    fields.update(
        {name: _text(given[name]) or NOT_DOCUMENTED for name in sorted(given) if name not in fields}
    )
    return fields


def _validation(result: ValidationResult | DataValidation) -> DataValidation:
    if isinstance(result, DataValidation):
        return result
    return DataValidation(suite=result.suite_name, passed=result.success, at=result.created_at)


def _evaluation(evaluation: Evaluation, load_plot: Callable[[str], bytes] | None) -> CardEvaluation:
    plots: dict[str, bytes | str] = {}
    for name, digest in evaluation.plots.items():
        plots[name] = digest
        if load_plot is not None:
            with contextlib.suppress(ShipyardError, OSError):  # else the card names the plot by digest
                plots[name] = load_plot(digest)
    return CardEvaluation(
        dataset=evaluation.dataset_ref,
        dataset_digest=evaluation.dataset_digest,
        task=evaluation.task,
        target=evaluation.target,
        n_rows=evaluation.n_rows,
        metrics=dict(evaluation.metrics),
        confusion_matrix=evaluation.confusion_matrix,
        slices=evaluation.slices,
        fairness=evaluation.fairness,
        plots=plots,
        created_at=evaluation.created_at,
        created_by=evaluation.created_by,
    )


# -- formatting shared by both renderings ----------------------------------------------------


def title(name: str) -> str:
    """``"intended_use"`` -> ``"Intended use"``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def when(ms: int | None) -> str:
    """A time in ms as ``2024-05-01 14:03 UTC``."""
    moment = to_datetime(ms)
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def number(value: Any) -> str:
    """A metric as four significant digits; NaN as ``n/a``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def slice_metric_names(slices: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The metric columns of a slice table: n_rows first, then the others in first-seen order."""
    names = list(dict.fromkeys(key for metrics in slices.values() for key in metrics))
    return sorted(names, key=lambda name: name != "n_rows")


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- Markdown --------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, lines joined (nothing else is escaped)."""
    return " ".join(str(value).split("\n")).replace("|", "\\|")


def _prose(text: str) -> str:
    """Free text as written; the ``not documented`` placeholder in italics."""
    return f"_{text}_" if text == NOT_DOCUMENTED else text


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(card: ModelCard) -> str:
    """The card as Markdown: free text verbatim, table cells with ``|`` escaped."""
    lines = [f"# Model card: {card.name} v{card.version}", "", _prose(card.description), ""]
    lines += ["## Model details", ""]
    lines += _table(["", ""], _details(card))
    for name, value in card.fields.items():
        lines += [f"## {title(name)}", "", _prose(value), ""]
    lines += ["## Lineage", ""]
    lines += _table(["", ""], _lineage(card.lineage))
    lines += ["## Training data", ""]
    lines += _markdown_training(card.training_data)
    lines += ["## Evaluations", ""]
    lines += [line for e in card.evaluations for line in _markdown_evaluation(e)] or ["None recorded.", ""]
    lines += ["## Approvals", ""]
    rows = [[a.user, a.role, a.alias, when(a.at), a.comment or ""] for a in card.approvals]
    lines += _table(["user", "role", "alias", "when", "comment"], rows) if rows else ["None recorded.", ""]
    lines += ["## Alias history", ""]
    rows = [_change_row(c) for c in card.alias_history]
    lines += _table(CHANGE_HEADER, rows) if rows else ["None recorded.", ""]
    lines += [f"_Generated {when(card.generated_at)} by Shipyard._", ""]
    return "\n".join(lines)


CHANGE_HEADER = ["when", "alias", "action", "from", "to", "actor", "reason"]


def _change_row(change: AliasChange) -> list[Any]:
    versions = ["" if v is None else f"v{v}" for v in (change.from_version, change.to_version)]
    return [when(change.at), change.alias, change.action, *versions, change.actor, change.reason or ""]


def _details(card: ModelCard) -> list[list[str]]:
    return [
        ["Name", card.name],
        ["Version", str(card.version)],
        ["Aliases", ", ".join(card.aliases) or "none"],
        ["Flavor", card.lineage.flavor],
        ["Registered by", card.lineage.created_by],
        ["Registered at", when(card.lineage.created_at)],
    ]


def _lineage(lineage: Lineage) -> list[list[str]]:
    return [
        ["Run", lineage.run_id],
        ["Code commit", lineage.commit or NOT_DOCUMENTED],
        ["Model URI", lineage.model_uri],
        ["Package digest", lineage.package_digest],
        ["Training datasets", ", ".join(lineage.datasets) or NOT_DOCUMENTED],
    ]


def _markdown_training(data: Sequence[TrainingData]) -> list[str]:
    if not data:
        return [_prose(NOT_DOCUMENTED), ""]
    lines: list[str] = []
    for item in data:
        lines += [f"### {item.ref}", ""]
        rows = [[v.suite, "passed" if v.passed else "FAILED", when(v.at)] for v in item.validations]
        lines += _table(["suite", "result", "when"], rows) if rows else ["No validation results.", ""]
    return lines


def _markdown_evaluation(evaluation: CardEvaluation) -> list[str]:
    lines = [
        f"### {evaluation.dataset}",
        "",
        f"{evaluation.task} of `{evaluation.target}` on {evaluation.n_rows} rows "
        f"(dataset digest `{evaluation.dataset_digest}`), {when(evaluation.created_at)} by "
        f"{evaluation.created_by}.",
        "",
    ]
    lines += _table(["metric", "value"], [[k, number(v)] for k, v in evaluation.metrics.items()])
    if evaluation.confusion_matrix is not None:
        size = len(evaluation.confusion_matrix)
        lines += ["Confusion matrix (rows: actual, columns: predicted, in the model's class order):", ""]
        lines += _table([str(i) for i in range(size)], evaluation.confusion_matrix)
    for column, groups in evaluation.slices.items():
        names = slice_metric_names(groups)
        lines += [f"Slices by `{column}`:", ""]
        rows = [
            [value, *(number(metrics.get(n, math.nan)) for n in names)] for value, metrics in groups.items()
        ]
        lines += _table([column, *names], rows)
    if evaluation.fairness:
        lines += ["Fairness gaps:", ""]
        rows = [
            [column, *(number(gaps.get(k, math.nan)) for k in FAIRNESS_KEYS)]
            for column, gaps in evaluation.fairness.items()
        ]
        lines += _table(
            ["slice column", "demographic parity difference", "equal opportunity difference"], rows
        )
    if evaluation.plots:
        listed = ", ".join(f"`{name}`" for name in evaluation.plots)
        lines += [f"Plots: {listed} (embedded in the HTML card).", ""]
    return lines


FAIRNESS_KEYS = ("demographic_parity_difference", "equal_opportunity_difference")


# -- HTML ------------------------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("shipyard.registry", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(field_title=title, when=when, number=number, data_uri=data_uri)
    environment.globals.update(
        slice_metric_names=slice_metric_names,
        details=_details,
        lineage_rows=_lineage,
        change_row=_change_row,
        change_header=CHANGE_HEADER,
        fairness_keys=FAIRNESS_KEYS,
        not_documented=NOT_DOCUMENTED,
        is_bytes=lambda value: isinstance(value, bytes),
    )
    return environment


def render_html(card: ModelCard) -> str:
    """The card as one self-contained HTML page (inline CSS, plots as ``data:`` URIs), all escaped."""
    return str(_environment().get_template("card.html.j2").render(card=card))
