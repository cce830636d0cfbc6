"""The public surface: ``__all__`` is exactly what ``import shipyard`` exposes, and importing is light."""

from __future__ import annotations

import subprocess
import sys

import shipyard


def test_all_names_resolve() -> None:
    for name in shipyard.__all__:
        assert getattr(shipyard, name) is not None, name


def test_all_is_the_documented_surface() -> None:
    assert set(shipyard.__all__) == {
        "__version__",
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
        "Run",
        "RunRecord",
        "RunStatus",
        "Settings",
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
        "datasets",
        "features",
        "Entity",
        "FeatureView",
        "FeatureService",
        "on_demand",
        "pipelines",
        "step",
        "pipeline",
        "on_dataset",
        "on_model_registered",
        "on_alert",
        "tuning",
        "tune",
        "report",
        "uniform",
        "loguniform",
        "intrange",
        "choice",
        "models",
        "pyfunc",
        "registry",
        "gates",
        "monitoring",
        "monitor",
        "checks",
        "actions",
        "evaluate",
        "serving",
        "deploy",
        "validate",
        "Suite",
        "ValidationResult",
    }


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        shipyard.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light_and_touches_nothing(tmp_path: object) -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import shipyard; dt = time.perf_counter() - t; "
        "heavy = [m for m in ('pandas', 'pyarrow', 'sqlalchemy', 'duckdb', 'fastapi', 'ray', 'numpy', "
        "'httpx', 'typer') if m in sys.modules]; print(heavy); print(dt)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(tmp_path)
    )
    heavy, _elapsed = done.stdout.splitlines()
    assert heavy == "[]"
    assert not any(p.name == ".shipyard" for p in __import__("pathlib").Path(str(tmp_path)).iterdir())


def test_sdk_namespace_functions_survive_domain_imports() -> None:
    """Importing the datasets domain's own modules must not hide ``sy.datasets.<function>``."""
    import importlib
    import pkgutil

    import shipyard.datasets as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"shipyard.datasets.{module.name}")
    for name in package.SDK_FUNCTIONS:
        assert callable(getattr(shipyard.datasets, name)), name


def test_features_namespace_functions_survive_domain_imports() -> None:
    """Importing every features module (the online stores too) must not hide ``sy.features.online``."""
    import importlib
    import pkgutil
    import types

    import shipyard.features as package

    for module in pkgutil.walk_packages(package.__path__, "shipyard.features."):
        if not module.name.endswith(".redis"):  # needs the optional redis client
            importlib.import_module(module.name)
    for name in package.SDK_FUNCTIONS:
        function = getattr(shipyard.features, name)
        assert callable(function), name
        assert not isinstance(function, types.ModuleType), name
        assert function.__module__ == "shipyard.sdk.features", name
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert not submodules & set(package.SDK_FUNCTIONS), "a submodule shadows an SDK function"


def test_registry_namespace_functions_survive_domain_imports() -> None:
    """Importing the registry's own modules must not hide ``sy.registry.<function>``."""
    import importlib
    import pkgutil

    import shipyard.registry as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"shipyard.registry.{module.name}")
    for name in package.SDK_FUNCTIONS:
        assert callable(getattr(shipyard.registry, name)), name
    assert shipyard.gates.approvals(1).kind == "approvals"


def test_serving_namespace_functions_survive_domain_imports() -> None:
    """Importing the serving domain's own modules must not hide ``sy.serving.<function>``."""
    import importlib
    import pkgutil

    import shipyard.serving as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"shipyard.serving.{module.name}")
    for name in package.SDK_FUNCTIONS:
        assert callable(getattr(shipyard.serving, name)), name
    assert shipyard.deploy is shipyard.serving.deploy


def test_monitoring_namespace_functions_survive_domain_imports() -> None:
    """Importing the monitoring domain's own modules must not hide ``sy.monitoring.<function>``."""
    import importlib
    import pkgutil

    import shipyard.monitoring as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"shipyard.monitoring.{module.name}")
    for name in package.SDK_FUNCTIONS:
        assert callable(getattr(shipyard.monitoring, name)), name
        assert getattr(shipyard.monitoring, name).__module__ == "shipyard.sdk.monitoring", name


def test_tuning_namespace_functions_survive_domain_imports() -> None:
    """Importing the tuning domain's own modules must not hide ``sy.tuning.<function>``."""
    import importlib
    import pkgutil

    import shipyard.tuning as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"shipyard.tuning.{module.name}")
    for name in package.SDK_FUNCTIONS:
        assert callable(getattr(shipyard.tuning, name)), name
    assert shipyard.report is shipyard.tuning.report
