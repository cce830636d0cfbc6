"""Keeping an evaluation a remote client computed: what a server checks before it believes one.

A remote SDK evaluates where the data is (:meth:`RestRegistry.evaluate
<shipyard.registry.rest.RestRegistry.evaluate>`): it loads the package, scores the
rows, uploads the plots (``PUT /api/v1/blobs/{digest}``) and posts the record.
Gates read evaluations by package digest and dataset digest, so
:meth:`EvaluationRecords.save` checks every link the server can check before keeping
one: the package digest is the digest of the package at ``model_uri``; a named
registered version holds that package; a dataset reference names a version with that
digest; every plot's content is stored here; the numbers are well formed. The record
is kept as the caller (``created_by``) at the server's time (``created_at``), so
nobody can post an evaluation "newer" than the one a gate should read. The metrics
themselves cannot be re-checked without the data: posting needs the ``editor`` role
and is written to the audit log.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInputError
from shipyard.core.ids import check_id
from shipyard.registry.evaluating import DATAFRAME_REF, TASKS
from shipyard.registry.models import Evaluation
from shipyard.storage.digests import check_digest

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.registry.service import RegistryService
    from shipyard.storage.cas import ContentStore

MAX_PLOTS = 20


class EvaluationRecords:
    """Checks and keeps evaluations posted by remote clients, through ``registry``'s store."""

    def __init__(self, registry: RegistryService, content: ContentStore, datasets: DatasetService) -> None:
        self.registry = registry
        self.content = content
        self.datasets = datasets

    def save(self, evaluation: Evaluation) -> Evaluation:
        """Keep ``evaluation`` (see the module docstring); the record as stored."""
        actor = self.registry.authorize("editor")
        check_shape(evaluation)
        self._check_package(evaluation)
        self._check_dataset(evaluation)
        self._check_plots(evaluation)
        kept = dataclasses.replace(evaluation, created_by=actor, created_at=self.registry.clock())
        self.registry.store.save_evaluation(kept)
        audit = self.registry.audit
        if audit is not None:
            payload = {"id": kept.id, "package": kept.package_digest, "target": kept.target}
            audit.record(actor, "model.evaluate", f"data:{kept.dataset_ref}", payload)
        return kept

    def _check_package(self, evaluation: Evaluation) -> None:
        actual = self.registry.models.package_digest(evaluation.model_uri)
        if actual != evaluation.package_digest:
            raise InvalidInputError(
                f"the package at {evaluation.model_uri} has digest {actual}, "
                f"not {evaluation.package_digest}: evaluate the package this server holds",
                details={"model_uri": evaluation.model_uri, "package_digest": actual},
            )
        if evaluation.model_name is None:
            return
        version = self.registry.get_version(evaluation.model_name, int(evaluation.model_version or 0))
        if version.package_digest != evaluation.package_digest:
            raise InvalidInputError(
                f"{version.uri} is the package {version.package_digest}, "
                f"not the evaluated {evaluation.package_digest}"
            )

    def _check_dataset(self, evaluation: Evaluation) -> None:
        if evaluation.dataset_ref == DATAFRAME_REF:
            return
        version = self.datasets.get(evaluation.dataset_ref)
        if version.ref != evaluation.dataset_ref or version.digest != evaluation.dataset_digest:
            raise InvalidInputError(
                f"dataset {evaluation.dataset_ref} is {version.ref} with digest {version.digest}; "
                f"the evaluation says {evaluation.dataset_digest}",
                details={"dataset_ref": version.ref, "dataset_digest": version.digest},
            )

    def _check_plots(self, evaluation: Evaluation) -> None:
        for name, digest in evaluation.plots.items():
            if not self.content.exists(digest):
                raise InvalidInputError(
                    f"the plot {name!r} ({digest}) is not on the server: upload it "
                    "(PUT /api/v1/blobs/{digest}) before posting the evaluation",
                    details={"plot": name, "digest": digest},
                )


def check_shape(evaluation: Evaluation) -> None:
    """``InvalidInputError`` unless ids, digests, task, model and numbers are well formed."""
    from shipyard.models.uris import parse_model_uri

    check_id(evaluation.id, "evaluation id")
    check_digest(evaluation.package_digest)
    check_digest(evaluation.dataset_digest)
    if evaluation.task not in TASKS:
        raise InvalidInputError(f"unknown task {evaluation.task!r}: use one of {', '.join(TASKS)}")
    if not evaluation.target or not evaluation.dataset_ref:
        raise InvalidInputError("an evaluation names its target column and its dataset")
    if parse_model_uri(evaluation.model_uri).kind != "run":
        raise InvalidInputError(f"model_uri is the package's runs:/ URI, got {evaluation.model_uri!r}")
    if (evaluation.model_name is None) != (evaluation.model_version is None):
        raise InvalidInputError("model_name and model_version are given together, or neither")
    if evaluation.n_rows < 0:
        raise InvalidInputError(f"n_rows cannot be negative, got {evaluation.n_rows}")
    _check_matrix(evaluation.confusion_matrix)
    if len(evaluation.plots) > MAX_PLOTS:
        raise InvalidInputError(f"an evaluation has at most {MAX_PLOTS} plots, got {len(evaluation.plots)}")
    for name, digest in evaluation.plots.items():
        if not name.endswith(".png") or "/" in name or "\\" in name or name.startswith("."):
            raise InvalidInputError(f"a plot is named like 'roc.png', got {name!r}")
        check_digest(digest)


def _check_matrix(matrix: list[list[int]] | None) -> None:
    if matrix is None:
        return
    size = len(matrix)
    if any(len(row) != size or any(isinstance(n, bool) or n < 0 for n in row) for row in matrix):
        raise InvalidInputError("confusion_matrix is a square table of counts (whole numbers >= 0)")
