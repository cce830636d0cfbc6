"""Reading the prediction log: segments located, verified, and queried with DuckDB.

A segment is read in place when the content store is a local folder, else fetched once
into ``<home>/cache/predictions/`` (verified by the content store on the way). Either
way its digest is checked before DuckDB reads it, once per process.

:func:`query_table` answers an Arrow table whose ``prediction``, ``inputs`` and
``label`` columns are JSON text (what a server sends as Arrow IPC); :func:`to_frame`
decodes it into the DataFrame users get.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import BackendUnavailable
from shipyard.serving.models import Label, PredictionSegment
from shipyard.serving.prediction_log import INPUT_PREFIX

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

BASE_COLUMNS = (
    "request_id",
    "ts_ms",
    "deployment",
    "route",
    "model_version",
    "shadow",
    "latency_ms",
    "prediction",
    "probabilities",
    "inputs",
)
LABEL_COLUMNS = ("label", "label_ts_ms")


class SegmentFiles:
    """Local, verified files of segments: in the local blob folder or fetched into ``cache_dir``."""

    def __init__(self, content: Any, cache_dir: Path) -> None:
        self.content = content
        self.cache_dir = Path(cache_dir)
        self._verified: set[str] = set()
        self._lock = threading.Lock()

    def paths(self, segments: Iterable[PredictionSegment]) -> list[Path]:
        return [self.path(s.digest) for s in segments]

    def path(self, digest: str) -> Path:
        from shipyard.storage.digests import digest_file

        local = self._blob_path(digest)
        path = local if local is not None and local.is_file() else self._cached(digest)
        with self._lock:
            if digest in self._verified:
                return path
        actual = digest_file(path)
        if actual != digest:
            if path != local:  # a damaged cache entry: fetch it again (verified by the store)
                path.unlink(missing_ok=True)
                path = self._cached(digest)
            else:
                raise BackendUnavailable(
                    f"prediction log segment {path} is corrupt: expected {digest}, got {actual}",
                    details={"expected": digest, "actual": actual},
                )
        with self._lock:
            self._verified.add(digest)
        return path

    def _blob_path(self, digest: str) -> Path | None:
        from shipyard.storage.local import LocalBlobStore

        blobs = getattr(self.content, "blobs", None)
        if not isinstance(blobs, LocalBlobStore):
            return None
        return blobs.root.joinpath(*self.content.key_for(digest).split("/"))

    def _cached(self, digest: str) -> Path:
        path = self.cache_dir / f"{digest.partition(':')[2]}.parquet"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.content.get_file(digest, path)
        return path


def _source(paths: Sequence[Path]) -> str:
    from shipyard.tabular import path_sql

    listed = ", ".join(path_sql(p) for p in paths)
    return f"read_parquet([{listed}], union_by_name=true)"


def query_table(
    paths: Sequence[Path],
    deployment: str,
    start: int | None,
    end: int | None,
    labels: Sequence[Label] | None,
) -> pa.Table:
    """The predictions of ``deployment`` made in ``[start, end)`` with, when ``labels`` is given,
    the columns ``label`` (JSON text) and ``label_ts_ms``; ordered by time then request id."""
    from shipyard.tabular import connect, sql_string

    if not paths:
        return _empty(labels is not None)
    con = connect()
    try:
        where = [f"p.deployment = {sql_string(deployment)}"]
        if start is not None:
            where.append(f"p.ts_ms >= {int(start)}")
        if end is not None:
            where.append(f"p.ts_ms < {int(end)}")
        joined, extra = "", ""
        if labels is not None:
            con.register("__sy_labels", _labels_table(labels))
            joined = " LEFT JOIN __sy_labels l ON l.request_id = p.request_id"
            extra = ", l.label AS label, l.label_ts_ms AS label_ts_ms"
        query = (
            f"SELECT p.*{extra} FROM {_source(paths)} p{joined} WHERE {' AND '.join(where)} "
            "ORDER BY p.ts_ms, p.request_id, p.shadow"
        )
        table: pa.Table = con.sql(query).to_arrow_table()
    finally:
        con.close()
    return table


def find_request_ids(paths: Sequence[Path], request_ids: Sequence[str]) -> dict[str, str]:
    """``{request_id: deployment}`` of those ids some segment holds."""
    import pyarrow as pa

    from shipyard.tabular import connect

    if not paths or not request_ids:
        return {}
    con = connect()
    try:
        con.register("__sy_ids", pa.table({"request_id": pa.array(sorted(set(request_ids)), pa.string())}))
        rows = con.sql(
            f"SELECT DISTINCT p.request_id, p.deployment FROM {_source(paths)} p "
            "JOIN __sy_ids i ON i.request_id = p.request_id"
        ).fetchall()
    finally:
        con.close()
    return {str(request_id): str(deployment) for request_id, deployment in rows}


def _labels_table(labels: Sequence[Label]) -> pa.Table:
    import orjson
    import pyarrow as pa

    return pa.table(
        {
            "request_id": pa.array([label.request_id for label in labels], pa.string()),
            "label": pa.array([orjson.dumps(label.label).decode() for label in labels], pa.string()),
            "label_ts_ms": pa.array([label.ts for label in labels], pa.int64()),
        }
    )


def _empty(with_labels: bool) -> pa.Table:
    import pyarrow as pa

    fields = [
        ("request_id", pa.string()),
        ("ts_ms", pa.int64()),
        ("deployment", pa.string()),
        ("route", pa.string()),
        ("model_version", pa.string()),
        ("shadow", pa.bool_()),
        ("latency_ms", pa.float64()),
        ("prediction", pa.string()),
        ("probabilities", pa.list_(pa.float64())),
        ("inputs", pa.string()),
        ("status", pa.int32()),
        ("error", pa.string()),
    ]
    if with_labels:
        fields += [("label", pa.string()), ("label_ts_ms", pa.int64())]
    return pa.schema(fields).empty_table()


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The DataFrame of :func:`query_table`'s table: ``prediction`` and ``label`` decoded from JSON,
    a ``ts`` column (UTC datetimes) after ``ts_ms``, then the label columns, then ``input.*``.

    ``inputs`` stays JSON text (the typed ``input.<name>`` columns hold the flat ones).
    """
    import pandas as pd

    frame = table.to_pandas()
    # Segments written before failures were logged have neither column: all answered.
    if "status" not in frame.columns:
        frame["status"] = 200
    frame["status"] = frame["status"].fillna(200).astype("int64")
    if "error" not in frame.columns:
        frame["error"] = None
    frame["prediction"] = _decoded(table.column("prediction").to_pylist())
    if "label" in frame.columns:
        frame["label"] = _decoded(table.column("label").to_pylist())
        frame["label_ts_ms"] = frame["label_ts_ms"].astype("Int64")
    frame.insert(2, "ts", pd.to_datetime(frame["ts_ms"], unit="ms", utc=True))
    inputs = [c for c in frame.columns if c.startswith(INPUT_PREFIX)]
    rest = [c for c in frame.columns if c not in inputs]
    ordered: pd.DataFrame = frame[rest + inputs].reset_index(drop=True)
    return ordered


def _decoded(texts: list[str | None]) -> pd.Series[Any]:
    """JSON texts decoded to Python values (nulls stay missing); pandas picks the dtype."""
    import orjson
    import pandas as pd

    values = [None if text is None else orjson.loads(text) for text in texts]
    return pd.Series(values, dtype=None if values else object)
