"""Batch scoring: a Parquet file in, its predictions out, chunk by chunk, locally or on Ray.

The input is streamed (``ParquetFile.iter_batches``), so its size is bounded by disk,
not memory. Each chunk is scored by the model's ``predict`` (and ``predict_proba`` for
classifiers) and written at once; the output is written to a temporary file and
renamed at the end, so a failed run leaves nothing half-written.

The output holds the input's key columns (``keep``; by default every column that is
not one of the model's inputs), ``prediction``, ``probabilities`` (classifiers: one
list of class probabilities per row, in the order of the model's ``classes``) and
``model_version`` (``fraud:7``, or the ``runs:/`` URI of an unregistered package);
the Parquet metadata records ``shipyard.model_version``, ``shipyard.model_uri`` and
``shipyard.package_digest``.

With ``executor="ray"`` the chunks are Ray tasks (at most two per CPU in flight, results
written in input order). Ray is used as found: the cluster of an earlier ``ray.init()``,
else ``ray.init()`` here, which joins ``RAY_ADDRESS`` or starts a local cluster. Each
worker fetches the package's files by digest from the artifact store (verified) and
loads the model once; the artifact store must be reachable from every node.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from shipyard.models.package import LoadedModel
    from shipyard.models.service import ModelService
    from shipyard.registry.service import RegistryService
    from shipyard.tracking.models import Artifact

EXECUTORS = ("local", "ray")
OUTPUT_COLUMNS = ("prediction", "probabilities", "model_version")
MAX_CHUNK = 10_000_000
#: ``progress(rows_done, rows_total)`` after each chunk.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BatchResult:
    """What a batch scoring run wrote."""

    output: Path
    rows: int
    chunks: int
    model_version: str
    model_uri: str
    package_digest: str
    columns: list[str]


@dataclass(frozen=True)
class Package:
    """What a worker needs to load the model without the metadata store: the package's run
    artifacts (path, digest, size) and how to open the artifact store."""

    uri: str
    run_id: str
    artifacts: tuple[tuple[str, str, int], ...]
    content_spec: Any
    cache_dir: str
    package_digest: str


def score_file(
    models: ModelService,
    registry: RegistryService,
    model: str,
    input: Path,
    output: Path,
    *,
    executor: str = "local",
    chunk_size: int = 50_000,
    keep: Sequence[str] | None = None,
    progress: Progress | None = None,
    trust: bool = False,
    content_spec: Any = None,
) -> BatchResult:
    """Score ``input`` into ``output`` (see the module docstring)."""
    import pyarrow.parquet as pq

    _check_options(executor, chunk_size, input, output, content_spec)
    uri, version = _resolve(registry, model)
    loaded = models.load(uri, trust=trust)
    source = _open(input)
    kept = _kept(loaded, source.schema_arrow.names, keep)
    total = source.metadata.num_rows
    if total == 0:
        raise InvalidInputError(f"{input} has no rows to score")
    metadata = {
        "shipyard.model_version": version,
        "shipyard.model_uri": uri,
        "shipyard.package_digest": loaded.package_digest,
    }
    batches = source.iter_batches(batch_size=chunk_size)
    if executor == "ray":
        package = _package(models, uri, loaded, content_spec)
        tables = _on_ray(batches, package, kept, version, trust)
    else:
        tables = (score_batch(loaded, batch, kept, version) for batch in batches)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    writer: pq.ParquetWriter | None = None
    rows = chunks = 0
    try:
        for table in tables:
            if writer is None:
                schema = table.schema.with_metadata(metadata)
                writer = pq.ParquetWriter(tmp, schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
            rows, chunks = rows + table.num_rows, chunks + 1
            if progress is not None:
                progress(rows, total)
        assert writer is not None
        columns = list(writer.schema.names)
        writer.close()
        writer = None
        tmp.replace(output)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return BatchResult(output, rows, chunks, version, uri, loaded.package_digest, columns)


def _check_options(executor: str, chunk_size: int, input: Path, output: Path, content_spec: Any) -> None:
    if executor not in EXECUTORS:
        raise InvalidInputError(f"unknown executor {executor!r}; use {' or '.join(EXECUTORS)}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK:
        raise InvalidInputError(f"chunk size must be an integer in 1..{MAX_CHUNK}, got {chunk_size!r}")
    if input.resolve() == output.resolve():
        raise InvalidInputError("the output must not be the input file")
    if executor == "ray" and content_spec is None:
        raise InvalidInputError(
            "the ray executor needs to know the artifact store (a workspace's content_spec)"
        )


def _resolve(registry: RegistryService, model: str) -> tuple[str, str]:
    """(package URI, version label): ``fraud:7`` for a registered version, else the run URI."""
    from shipyard.models.uris import parse_model_uri

    ref = parse_model_uri(model)
    if ref.kind == "run":
        return str(ref), str(ref)
    version = registry.resolve(ref)
    return version.model_uri, f"{version.name}:{version.version}"


def _open(path: Path) -> pq.ParquetFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InvalidInputError(f"cannot read {path}: no such file")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError(f"cannot read {path} as Parquet: {exc}") from exc


def _kept(model: LoadedModel, names: list[str], keep: Sequence[str] | None) -> list[str]:
    """The input columns copied to the output; the model's own inputs must all be there."""
    signature = model.signature
    inputs = [] if signature is None else signature.column_names
    missing = [c for c in inputs if c not in names]
    if missing:
        raise InvalidInputError(
            f"the input lacks column(s) the model needs: {', '.join(map(repr, missing))}",
            details={"missing": missing},
        )
    kept = [c for c in names if c not in inputs] if keep is None else list(keep)
    unknown = [c for c in kept if c not in names]
    if unknown:
        raise InvalidInputError(f"--keep names column(s) the input lacks: {', '.join(map(repr, unknown))}")
    clash = [c for c in kept if c in OUTPUT_COLUMNS]
    if clash:
        raise InvalidInputError(
            f"input column(s) {', '.join(map(repr, clash))} would clash with the output's; "
            "leave them out with --keep"
        )
    return kept


def score_batch(model: LoadedModel, batch: pa.RecordBatch, keep: Sequence[str], version: str) -> pa.Table:
    """One chunk scored: kept columns, ``prediction``, ``probabilities`` (classifiers), ``model_version``."""
    import pyarrow as pa

    frame = batch.to_pandas()
    predictions = model.predict(frame)
    columns: dict[str, Any] = {name: batch.column(name) for name in keep}
    columns["prediction"] = _column(predictions)
    if model.task == "classifier":
        proba = model.predict_proba(frame)
        flat = pa.array(proba.astype("float64").ravel())
        fixed = pa.FixedSizeListArray.from_arrays(flat, proba.shape[1])
        columns["probabilities"] = fixed.cast(pa.list_(pa.float64()))
    columns["model_version"] = pa.repeat(pa.scalar(version, pa.string()), batch.num_rows)
    return pa.table(columns)


def _column(values: Any) -> pa.Array:
    import pyarrow as pa

    if values.ndim == 1:
        return pa.array(values.tolist() if values.dtype.kind == "O" else values)
    return pa.array(values.tolist())


# -- Ray -------------------------------------------------------------------------------------
def _package(models: ModelService, uri: str, loaded: LoadedModel, content_spec: Any) -> Package:
    run_id, path = models.run_of(uri)
    prefix = path + "/"
    artifacts = tuple(
        (a.path, a.digest, a.size)
        for a in models.tracking.list_artifacts(run_id)
        if a.path.startswith(prefix)
    )
    cache = str(models.cache_dir)
    return Package(f"runs:/{run_id}/{path}", run_id, artifacts, content_spec, cache, loaded.package_digest)


def _on_ray(batches: Any, package: Package, keep: list[str], version: str, trust: bool) -> Any:
    """The scored tables in input order, chunks running as Ray tasks (a bounded window in flight)."""
    try:
        import ray
    except ImportError as exc:
        raise InvalidInputError("the ray executor needs Ray: pip install 'shipyard[ray]'") from exc
    if not ray.is_initialized():
        ray.init()
    task = ray.remote(_score_on_worker).options(max_retries=1)
    cpus = ray.available_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    window = max(2, 2 * int(cpus))
    pending: deque[Any] = deque()
    for batch in batches:
        pending.append(task.remote(batch, package, keep, version, trust))
        if len(pending) >= window:
            yield ray.get(pending.popleft())
    while pending:
        yield ray.get(pending.popleft())


_loaded: dict[str, LoadedModel] = {}


def _score_on_worker(
    batch: pa.RecordBatch, package: Package, keep: list[str], version: str, trust: bool
) -> pa.Table:
    """A Ray task: the model loaded once per worker process, then one chunk scored."""
    model = _loaded.get(package.package_digest)
    if model is None:
        model = _loaded[package.package_digest] = _load_on_worker(package, trust)
    return score_batch(model, batch, keep, version)


def _load_on_worker(package: Package, trust: bool) -> LoadedModel:
    from shipyard.models.service import ModelService
    from shipyard.pipelines.execution import open_content
    from shipyard.tracking.models import Artifact

    class RunArtifacts:
        """The package's run artifacts as the driver read them (the worker has no metadata store)."""

        def list_artifacts(self, run_id: str) -> list[Artifact]:
            return [Artifact(p, d, s) for p, d, s in package.artifacts] if run_id == package.run_id else []

    cache = Path(package.cache_dir)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:  # another machine: the driver's home is not here
        import tempfile

        cache = Path(tempfile.gettempdir()) / "shipyard-models"
    content = cast(Any, open_content(package.content_spec))
    service = ModelService(cast(Any, RunArtifacts()), content, cache)
    return service.load(package.uri, trust=trust)
