"""The functions behind ``sy.models``: log, load and convert model packages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    from shipyard.models.package import LoadedModel, ModelDescriptor
    from shipyard.models.signature import Signature


def log_model(
    model: Any,
    name: str = "model",
    input_example: Any = None,
    signature: Signature | Mapping[str, Any] | None = None,
    *,
    flavor: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Save ``model`` as a package in the active run; return its URI ``runs:/<run_id>/<name>``."""
    from shipyard.tracking import fluent

    run = fluent.require_active_run()
    return current_workspace().models.log_model(
        run.id, model, name, input_example, signature, flavor, extra=extra
    )


def load(uri: str, trust: bool = False) -> LoadedModel:
    """The model ``uri`` names (``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
    ``models:/<name>@<alias>``), every file's digest checked. Pickled (``pyfunc``)
    packages need ``trust=True``."""
    return current_workspace().models.load(uri, trust=trust)


def descriptor(uri: str) -> ModelDescriptor:
    """The package's ``shipyard-model.yaml``: flavor, signature, versions, file digests."""
    return current_workspace().models.descriptor(uri)


def export_onnx(uri: str, run_id: str | None = None, name: str = "model-onnx") -> str:
    """Convert a scikit-learn package to ONNX, logged in ``run_id`` (default: the active run)."""
    from shipyard.tracking import fluent

    target = run_id if run_id is not None else fluent.require_active_run().id
    return current_workspace().models.export_onnx(uri, target, name)
