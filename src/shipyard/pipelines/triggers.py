"""Triggers: start a pipeline when something happens (``@sy.pipeline(triggers=[...])``).

The scheduler reads what happened from the audit log, where every change is recorded:

| trigger | audit action | audit target | subject given to ``param`` |
|---|---|---|---|
| ``sy.on_dataset("transactions")`` | ``dataset.add`` | ``dataset:transactions@4`` | ``"transactions@4"`` |
| ``sy.on_model_registered("fraud")`` | ``model.register`` | ``model:fraud/3`` | ``"fraud:3"`` |
| ``sy.on_alert("fraud-drift")`` | ``alert.fired`` | ``monitor:fraud-drift`` | ``"fraud-drift"`` |

Names are glob patterns (``"*"`` is any dataset). An alert is whatever records an audit
event with action ``alert.fired`` and target ``monitor:<name>``: the monitoring domain
does, for each alert it fires.

>>> on_dataset("transactions", param="data")
Trigger(kind='dataset', name='transactions', param='data')
>>> on_model_registered("fraud").subject("model.register", "model:fraud/7")
'fraud:7'
"""

from __future__ import annotations

from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.models import TRIGGER_EVENTS, Trigger

__all__ = ["check_triggers", "on_alert", "on_dataset", "on_model_registered", "parse_trigger"]


def on_dataset(name: str, *, param: str | None = None) -> Trigger:
    """Run when a new version of dataset ``name`` is added; ``param`` receives ``"name@version"``."""
    return _trigger("dataset", name, param)


def on_model_registered(name: str, *, param: str | None = None) -> Trigger:
    """Run when a version of model ``name`` is registered; ``param`` receives ``"name:version"``."""
    return _trigger("model_registered", name, param)


def on_alert(monitor: str, *, param: str | None = None) -> Trigger:
    """Run when monitor ``monitor`` fires an alert; ``param`` receives the monitor's name."""
    return _trigger("alert", monitor, param)


def _trigger(kind: str, name: object, param: object) -> Trigger:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise InvalidInputError(f"a {kind} trigger needs a name (1 to 256 characters), got {name!r}")
    if param is not None and (not isinstance(param, str) or not param.isidentifier()):
        raise InvalidInputError(f"param must name a pipeline parameter, got {param!r}")
    return Trigger(kind, name.strip(), param)


def check_triggers(triggers: object) -> tuple[Trigger, ...]:
    """``triggers`` as a tuple, each one made by ``sy.on_dataset``, ``sy.on_model_registered`` or
    ``sy.on_alert``; ``InvalidInputError`` otherwise."""
    if isinstance(triggers, Trigger):
        triggers = (triggers,)
    if not isinstance(triggers, list | tuple):
        raise InvalidInputError(f"triggers must be a list of triggers, got {type(triggers).__name__}")
    for trigger in triggers:
        if not isinstance(trigger, Trigger) or trigger.kind not in TRIGGER_EVENTS:
            raise InvalidInputError(
                f"{trigger!r} is not a trigger: use sy.on_dataset, sy.on_model_registered or sy.on_alert"
            )
    return tuple(triggers)


def parse_trigger(text: str) -> Trigger:
    """A trigger from the command line: ``dataset:transactions``, ``model:fraud``, ``alert:fraud-drift``,
    each optionally ``=param`` (``dataset:transactions=data``).

    >>> parse_trigger("model:fraud=model")
    Trigger(kind='model_registered', name='fraud', param='model')
    """
    kinds = {"dataset": "dataset", "model": "model_registered", "alert": "alert"}
    kind, sep, rest = text.partition(":")
    name, _, param = rest.partition("=")
    if not sep or kind not in kinds:
        raise InvalidInputError(
            f"a trigger is dataset:NAME, model:NAME or alert:MONITOR (optionally =PARAM), got {text!r}"
        )
    return _trigger(kinds[kind], name, param or None)
