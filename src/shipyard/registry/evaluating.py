"""Evaluations of model packages: which data, its digest, and the record that is kept.

The data is a dataset reference (``"holdout"`` for its latest version, ``"holdout@2"``),
a :class:`~shipyard.datasets.models.DatasetVersion`, or a DataFrame (pandas, or an
Arrow table). A dataset version is identified by its manifest digest; a DataFrame by
the blake3 of its Arrow IPC stream (no schema metadata, one chunk per column), so the
same data evaluated twice is matched by gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.core.ids import new_id
from shipyard.datasets.models import DatasetVersion
from shipyard.registry.models import Evaluation

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.datasets.service import DatasetService
    from shipyard.models.package import LoadedModel
    from shipyard.storage.cas import ContentStore

DATAFRAME_REF = "<dataframe>"
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class EvaluationData:
    """The rows to evaluate on, with the reference and digest the evaluation is recorded under."""

    frame: pd.DataFrame
    ref: str
    digest: str


def resolve_data(data: Any, datasets: DatasetService | None) -> EvaluationData:
    """The frame, reference and digest of any accepted form of data."""
    if isinstance(data, DatasetVersion | str):
        if datasets is None:
            raise InvalidInputError("dataset versions are not available in this workspace: pass a DataFrame")
        version = data if isinstance(data, DatasetVersion) else datasets.get(data)
        return EvaluationData(datasets.load(version.ref), version.ref, version.digest)
    frame = _as_pandas(data)
    return EvaluationData(frame, DATAFRAME_REF, frame_digest(frame))


def _as_pandas(data: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):
        converted = data.to_pandas()
        if isinstance(converted, pd.DataFrame):
            return converted
    raise InvalidInputError(
        f"cannot evaluate on a {type(data).__name__}: pass a dataset reference ('holdout@2') or a DataFrame"
    )


def frame_digest(frame: pd.DataFrame) -> str:
    """The blake3 of the frame's Arrow IPC stream: equal for equal data, index dropped.

    >>> import pandas as pd
    >>> a = frame_digest(pd.DataFrame({"x": [1, 2]}))
    >>> b, c = pd.DataFrame({"x": [1, 2]}, index=[5, 6]), pd.DataFrame({"x": [2, 1]})
    >>> a == frame_digest(b), a == frame_digest(c)
    (True, False)
    """
    import pyarrow as pa

    from shipyard.storage.digests import digest_bytes

    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return digest_bytes(sink.getvalue().to_pybytes())


@dataclass(frozen=True)
class Question:
    """What to measure: the target column, the task and the slice columns."""

    target: str
    task: str
    slices: list[str]


def check_slices(task: str, slices: Sequence[str] | str | None) -> list[str]:
    """The slice columns as a list, after checking the task name."""
    if task not in TASKS:
        raise InvalidInputError(f"unknown task {task!r}: use 'classification' or 'regression'")
    if slices is None:
        return []
    columns = [slices] if isinstance(slices, str) else list(slices)
    if not all(isinstance(c, str) and c for c in columns):
        raise InvalidInputError(f"slices are column names, got {slices!r}")
    return list(dict.fromkeys(columns))


def evaluate(
    loaded: LoadedModel,
    data: EvaluationData,
    question: Question,
    *,
    content: ContentStore,
    model: tuple[str | None, int | None, str],
    at: int,
    actor: str,
) -> Evaluation:
    """Evaluate ``loaded`` on ``data``; the evaluation to keep, its plots already in the content store.

    ``model`` is ``(registered name or None, version or None, model_uri)``.
    """
    from shipyard.models.evaluation import evaluate_frame

    result = evaluate_frame(loaded, data.frame, question.target, question.task, question.slices)  # type: ignore[arg-type]
    plots = {name: content.put_bytes(png) for name, png in sorted(result.plots.items())}
    name, version, uri = model
    return Evaluation(
        id=new_id(),
        model_name=name,
        model_version=version,
        package_digest=loaded.package_digest,
        model_uri=uri,
        dataset_ref=data.ref,
        dataset_digest=data.digest,
        target=question.target,
        task=question.task,
        metrics={k: float(v) for k, v in result.metrics.items()},
        confusion_matrix=result.confusion_matrix,
        slices=result.slices,
        fairness=result.fairness,
        plots=plots,
        n_rows=int(result.n_rows),
        created_at=at,
        created_by=actor,
    )
