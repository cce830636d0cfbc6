"""Shipyard: the whole life of a machine-learning model in one package.

>>> import shipyard as sy
>>> sy.__version__ == __import__("shipyard._version").__version__
True

Everything below is imported on first use, so ``import shipyard`` stays light.
"""

from __future__ import annotations

from shipyard._version import __version__

TYPE_CHECKING = False  # not typing's: importing typing takes longer than a no-change `data status`
if TYPE_CHECKING:
    from typing import Any

    from shipyard import datasets, features, models, monitoring, pipelines, registry, serving, tuning
    from shipyard.core.config import Settings
    from shipyard.core.errors import (
        AlreadyExistsError,
        AuthenticationRequired,
        BackendUnavailable,
        ConflictError,
        GateFailed,
        InvalidInputError,
        NotFoundError,
        PermissionDenied,
        ShipyardError,
        UserCodeError,
        ValidationFailed,
    )
    from shipyard.features.models import Entity, FeatureService, FeatureView, on_demand
    from shipyard.models.flavors.pyfunc import pyfunc
    from shipyard.monitoring import actions, checks
    from shipyard.pipelines.pipeline import pipeline
    from shipyard.pipelines.steps import step
    from shipyard.pipelines.triggers import on_alert, on_dataset, on_model_registered
    from shipyard.registry import gates
    from shipyard.sdk import (
        active_run,
        download_artifacts,
        flush,
        get_metric_history,
        get_run,
        list_experiments,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        search_runs,
        set_tag,
        set_tags,
        start_run,
        validate,
    )
    from shipyard.sdk.monitors import monitor
    from shipyard.sdk.registry import evaluate
    from shipyard.sdk.serving import deploy
    from shipyard.sdk.tuning import tune
    from shipyard.tracking.models import RunRecord, RunStatus
    from shipyard.tracking.run import Run
    from shipyard.tuning.space import choice, intrange, loguniform, uniform
    from shipyard.tuning.trial import report
    from shipyard.validation.models import Suite, ValidationResult

_EXPORTS: dict[str, str] = {
    **{
        name: "shipyard.sdk"
        for name in (
            "start_run",
            "active_run",
            "log_param",
            "log_params",
            "log_metric",
            "log_metrics",
            "set_tag",
            "set_tags",
            "log_artifact",
            "flush",
            "get_run",
            "get_metric_history",
            "search_runs",
            "list_experiments",
            "download_artifacts",
            "validate",
        )
    },
    "Run": "shipyard.tracking.run",
    "step": "shipyard.pipelines.steps",
    "pipeline": "shipyard.pipelines.pipeline",
    **{name: "shipyard.pipelines.triggers" for name in ("on_dataset", "on_model_registered", "on_alert")},
    "tune": "shipyard.sdk.tuning",
    "report": "shipyard.tuning.trial",
    **{name: "shipyard.tuning.space" for name in ("uniform", "loguniform", "intrange", "choice")},
    "evaluate": "shipyard.sdk.registry",
    "deploy": "shipyard.sdk.serving",
    "monitor": "shipyard.sdk.monitors",
    "pyfunc": "shipyard.models.flavors.pyfunc",
    "Suite": "shipyard.validation.models",
    "ValidationResult": "shipyard.validation.models",
    **{name: "shipyard.features.models" for name in ("Entity", "FeatureView", "FeatureService", "on_demand")},
    "RunRecord": "shipyard.tracking.models",
    "RunStatus": "shipyard.tracking.models",
    "Settings": "shipyard.core.config",
    **{
        name: "shipyard.core.errors"
        for name in (
            "ShipyardError",
            "NotFoundError",
            "AlreadyExistsError",
            "ConflictError",
            "InvalidInputError",
            "ValidationFailed",
            "GateFailed",
            "PermissionDenied",
            "AuthenticationRequired",
            "BackendUnavailable",
            "UserCodeError",
        )
    },
}

# Sub-namespaces of the SDK: ``sy.datasets.add(...)``.
_MODULES: dict[str, str] = {
    "datasets": "shipyard.datasets",
    "features": "shipyard.features",
    "pipelines": "shipyard.pipelines",
    "models": "shipyard.models",
    "registry": "shipyard.registry",
    "gates": "shipyard.registry.gates",
    "tuning": "shipyard.tuning",
    "monitoring": "shipyard.monitoring",
    "checks": "shipyard.monitoring.checks",
    "actions": "shipyard.monitoring.actions",
    "serving": "shipyard.serving",
}

__all__ = ["__version__", *sorted([*_EXPORTS, *_MODULES])]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _MODULES:
        value: Any = importlib.import_module(_MODULES[name])
        globals()[name] = value
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
