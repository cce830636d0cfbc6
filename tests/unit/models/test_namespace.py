"""``sy.models`` keeps its functions whatever domain modules were imported, and stays light."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import shipyard
import shipyard.models as package


def test_sdk_functions_survive_domain_imports() -> None:
    for module in pkgutil.walk_packages(package.__path__, prefix="shipyard.models."):
        importlib.import_module(module.name)
    for name in package.__all__:
        assert getattr(shipyard.models, name) is not None, name
    for name in package.SDK_FUNCTIONS:
        assert callable(getattr(shipyard.models, name)), name


def test_the_domain_and_the_marker_import_no_framework() -> None:
    code = (
        "import sys, shipyard as sy; sy.pyfunc; import shipyard.models.service; "
        "print([m for m in ('sklearn', 'torch', 'xgboost', 'lightgbm', 'onnx', 'onnxruntime', 'skops', "
        "'pandas') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
