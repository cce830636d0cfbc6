"""Pipelines the scheduler tests start, importable by ref (``tests.unit.pipelines.scheduled:<name>``)."""

from __future__ import annotations

import shipyard as sy

REF = "tests.unit.pipelines.scheduled"


@sy.step(cache=False)
def echo(value: str) -> str:
    return value


@sy.pipeline(schedule="0 3 * * *")
def nightly(label: str = "nightly"):
    return echo(label)


@sy.pipeline(triggers=[sy.on_dataset("transactions", param="data")])
def on_data(data: str = ""):
    return echo(data)


@sy.pipeline(triggers=[sy.on_model_registered("fraud", param="model")])
def on_model(model: str = ""):
    return echo(model)


@sy.pipeline(triggers=[sy.on_alert("fraud-drift", param="monitor")])
def on_alert(monitor: str = ""):
    return echo(monitor)


@sy.pipeline(schedule="*/5 * * * *", triggers=[sy.on_dataset("tx", param="data")])
def busy(data: str = "cron"):
    return echo(data)


@sy.pipeline
def needs_value(value: str):
    return echo(value)


@sy.step(cache=False)
def explode(value: str) -> str:
    raise RuntimeError(f"boom {value}")


@sy.pipeline(triggers=[sy.on_dataset("transactions")])
def failing(value: str = "x"):
    return explode(value)
