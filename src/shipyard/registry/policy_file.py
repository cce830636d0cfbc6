"""Policies written in YAML (``shipyard models policy NAME --alias A --set gates.yaml``).

A policy file is a list of gates (or a mapping whose ``gates`` key holds that list),
each item naming its kind by its first key::

    - {metric: roc_auc, op: ">=", value: 0.9, dataset: holdout}
    - {beats_champion: roc_auc, min_delta: 0.0, dataset: holdout}
    - {validated: transactions}
    - {fairness: demographic_parity_difference, op: "<=", value: 0.1, slice: gender}
    - {approvals: 1}
    - {card_fields: [intended_use, limitations]}

(``threshold`` may be written for ``value``; the stored form ``{kind: metric, params: {...}}``
is read too.) Every mistake is reported with the file and the line of its gate.

>>> [g.kind for g in parse_policy('- {metric: roc_auc, op: ">=", value: 0.9}\\n- {approvals: 2}')]
['metric', 'approvals']
>>> parse_policy("- {metric: roc_auc, op: '>=', valeu: 0.9}", source="p.yaml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: p.yaml line 1: unknown key 'valeu' in a metric gate; ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.registry import gates
from shipyard.registry.models import GateSpec

_Build = Callable[[dict[str, Any]], GateSpec]


def _metric(o: dict[str, Any]) -> GateSpec:
    return gates.metric(o["metric"], o["op"], o["value"], dataset=o.get("dataset"))


def _champion(o: dict[str, Any]) -> GateSpec:
    return gates.beats_champion(
        o["beats_champion"], o.get("min_delta", 0.0), o.get("dataset"), o.get("higher_is_better")
    )


def _fairness(o: dict[str, Any]) -> GateSpec:
    return gates.fairness(o["fairness"], o["op"], o["value"], slice=o["slice"], dataset=o.get("dataset"))


#: kind -> (required keys, optional keys, builder)
FORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], _Build]] = {
    "beats_champion": (("beats_champion",), ("min_delta", "dataset", "higher_is_better"), _champion),
    "fairness": (("fairness", "op", "value", "slice"), ("dataset",), _fairness),
    "validated": (("validated",), (), lambda o: gates.validated(o["validated"])),
    "approvals": (("approvals",), (), lambda o: gates.approvals(o["approvals"])),
    "card_fields": (("card_fields",), (), lambda o: gates.card_fields(o["card_fields"])),
    "metric": (("metric", "op", "value"), ("dataset",), _metric),
}


def load_policy_file(path: str | Path) -> list[GateSpec]:
    """The gates of the YAML file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"no policy file at {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read policy file {str(path)!r}: {exc}") from exc
    return parse_policy(text, source=str(path))


def parse_policy(text: str, source: str = "policy") -> list[GateSpec]:
    """The gates of a YAML policy; ``InvalidInputError`` naming ``source`` and the line otherwise."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidInputError(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None or root is None:
        return []
    if isinstance(data, Mapping) and set(data) <= {"gates", "name", "alias"} and "gates" in data:
        root = next(node for key, node in root.value if key.value == "gates")
        data = data["gates"] or []
    if not isinstance(data, list):
        raise InvalidInputError(f"{source} line 1: a policy is a list of gates (- {{metric: ...}})")
    lines = [node.start_mark.line + 1 for node in root.value]
    return [_gate(item, f"{source} line {line}") for item, line in zip(data, lines, strict=True)]


def _gate(item: Any, where: str) -> GateSpec:
    if not isinstance(item, Mapping):
        raise InvalidInputError(f"{where}: a gate is a mapping such as {{approvals: 1}}, got {item!r}")
    options = {str(k): v for k, v in item.items()}
    try:
        if "kind" in options:
            return gates.check_gate(options)
        return _short(options, where)
    except InvalidInputError as exc:
        if exc.message.startswith(where):
            raise
        raise InvalidInputError(f"{where}: {exc.message}", details=exc.details) from None


def _short(options: dict[str, Any], where: str) -> GateSpec:
    if "threshold" in options and "value" not in options:
        options["value"] = options.pop("threshold")
    named = [kind for kind in FORMS if kind in options]
    if "metric" in named and len(named) > 1:
        named.remove("metric")
    if len(named) != 1:
        kinds = ", ".join(FORMS)
        raise InvalidInputError(
            f"{where}: a gate starts with its kind, one of {kinds}; got {sorted(options)}"
        )
    kind = named[0]
    required, optional, build = FORMS[kind]
    unknown = [key for key in options if key not in (*required, *optional)]
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown key {unknown[0]!r} in a {kind} gate; its keys are {_keys(required, optional)}"
        )
    missing = [key for key in required if key not in options]
    if missing:
        raise InvalidInputError(f"{where}: a {kind} gate needs {', '.join(repr(k) for k in missing)}")
    try:
        return build(options)
    except InvalidInputError as exc:  # say "value", as the file does, for the gate's "threshold"
        raise InvalidInputError(exc.message.replace("'threshold'", "'value'"), details=exc.details) from None


def _keys(required: Sequence[str], optional: Sequence[str]) -> str:
    return ", ".join([*required, *(f"{key} (optional)" for key in optional)])


def short_form(spec: GateSpec) -> dict[str, Any]:
    """A gate as a policy file writes it (the inverse of the parser, for ``--show``).

    >>> short_form(gates.metric("roc_auc", ">=", 0.9, dataset="holdout"))
    {'metric': 'roc_auc', 'op': '>=', 'value': 0.9, 'dataset': 'holdout'}
    """
    p = dict(spec.params)
    if spec.kind in ("metric", "fairness"):
        form = {spec.kind: p.pop("metric"), "op": p.pop("op"), "value": p.pop("threshold"), **p}
        return {k: v for k, v in form.items() if v is not None}
    if spec.kind == "beats_champion":
        return {k: v for k, v in {"beats_champion": p.pop("metric"), **p}.items() if v is not None}
    if spec.kind == "validated":
        return {"validated": p["suite"]}
    if spec.kind == "approvals":
        return {"approvals": p["count"]}
    if spec.kind == "card_fields":
        return {"card_fields": p["fields"]}
    return spec.to_dict()
