"""The functions behind ``sy.datasets``: content-addressed dataset versions."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    from shipyard.datasets.models import Dataset, DatasetVersion
    from shipyard.datasets.reports import DatasetDiff, StatusReport


def add(path: str | Path, name: str, message: str | None = None) -> DatasetVersion:
    """Snapshot a file or folder as the next version of ``name`` (unchanged content: the latest)."""
    return current_workspace().datasets.add(path, name, message)


def get(ref: str) -> DatasetVersion:
    """A version by ``"name@3"``, or the latest by ``"name"``."""
    return current_workspace().datasets.get(ref)


def versions(name: str) -> builtins.list[DatasetVersion]:
    """Every version of a dataset, oldest first."""
    return current_workspace().datasets.versions(name)


def list() -> builtins.list[Dataset]:
    """Every dataset, by name."""
    return current_workspace().datasets.list()


def status(name: str) -> StatusReport:
    """Files added, removed and modified in the folder ``name`` was added from, since its latest version."""
    return current_workspace().datasets.status(name)


def diff(ref_a: str, ref_b: str) -> DatasetDiff:
    """Files, schema and profile changes between two versions."""
    return current_workspace().datasets.diff(ref_a, ref_b)


def load(ref: str | DatasetVersion, format: str = "pandas") -> Any:
    """The data of a version: a pandas DataFrame, an Arrow table (``format="arrow"``) or a
    local path (``format="path"``). Inside an active run, records the version as a run input."""
    from shipyard.tracking import fluent

    workspace = current_workspace()
    version = workspace.datasets.get(ref) if isinstance(ref, str) else ref
    data = workspace.datasets.load(version.ref, format=format)
    run = fluent.active_run()
    if run is not None:
        run.log_input(version, context="training")
    return data


def checkout(ref: str, dest: str | Path, force: bool = False) -> builtins.list[Path]:
    """Materialise a version's files into ``dest`` (digests verified)."""
    return current_workspace().datasets.checkout(ref, dest, force=force)
