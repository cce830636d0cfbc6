"""Where a model version comes from: the run that logged its package, the run's training
dataset versions and the git commit the run started from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.models.uris import ModelRef
    from shipyard.tracking.service import TrackingService

TRAINING = "training"  # the run-input context of the dataset versions a model was trained on


@dataclass(frozen=True)
class Lineage:
    """The lineage fields of a :class:`~shipyard.registry.models.ModelVersion`."""

    model_uri: str
    run_id: str
    datasets: list[str]
    commit: str | None


def run_lineage(tracking: TrackingService, run_id: str, ref: ModelRef) -> Lineage:
    """The lineage of the package ``ref`` (a ``runs:/`` reference) logged by run ``run_id``.

    ``datasets`` are the run's dataset inputs in the ``"training"`` context
    (``sy.datasets.load`` inside a run records them), as ``"name@3"``; ``commit`` comes
    from the git lineage the run captured at start.
    """
    run = tracking.get_run(run_id)
    inputs = tracking.list_inputs(run.id)
    datasets = list(dict.fromkeys(i.ref for i in inputs if i.kind == "dataset" and i.context == TRAINING))
    git = run.lineage.get("git") or {}
    commit = git.get("commit") if isinstance(git, Mapping) else None
    return Lineage(str(ref), run.id, datasets, commit if isinstance(commit, str) and commit else None)
