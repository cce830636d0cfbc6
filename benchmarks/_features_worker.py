"""Workers of ``benchmarks/features.py``: one side, one task, in this interpreter; prints one JSON line.

``_features_worker.py --side {shipyard,feast} --task {historical,online,http} --data DIR --workdir DIR``

- ``historical``: point-in-time retrieval of the entity frame (read before the clock starts).
- ``online``: materialize every entity into the online store, then read one entity at a time.
- ``http`` (Shipyard only): read one entity at a time from a running ``shipyard server``
  (``--url``) with a lean keep-alive ``http.client`` connection, and with a keep-alive
  ``httpx.Client``. Each read takes turns with the same read against ``floor_app``
  (``--floor-url``), the least an HTTP read can cost here.

The data folder holds ``features.parquet``, ``entities.parquet`` and ``meta.json`` (written by
``features.py --generate``). Each worker reports its time, the peak RSS during the timed call
(``VmHWM`` after resetting it through ``/proc/self/clear_refs``, when the kernel allows) and
a sample of values so the driver can compare the two sides. The data libraries (pandas,
pyarrow, DuckDB, and ibis for Feast) are imported before any clock starts, on both sides.
Only the standard library is imported at the top, so the file runs in Feast's venv too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MISSING_API_EXIT = 3
WARMUP_READS = 100
VIEW = "user_stats"


class MissingAPIError(Exception):
    """The Shipyard SDK lacks part of the feature-store API this benchmark uses."""


# --------------------------------------------------------------------------- measuring


def _proc_status(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measured(call: Callable[[], Any]) -> tuple[float, Any, dict[str, Any]]:
    """Run ``call``; its wall time, result, and the RSS before and peak RSS during it."""
    before = _proc_status("VmRSS")
    reset = _reset_peak()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    peak = _proc_status("VmHWM") if reset else None
    return seconds, result, {"rss_before_bytes": before, "call_peak_rss_bytes": peak}


def _summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    n = len(times)
    return {
        "reads": n,
        "p50_ms": times[n // 2],
        "p99_ms": times[min(n - 1, math.ceil(n * 0.99) - 1)],
        "mean_ms": sum(times) / n,
        "max_ms": times[-1],
    }


def latencies(read: Callable[[int], Any], entities: Sequence[int]) -> tuple[dict[str, float], Any]:
    """Per-call latency of ``read(entity)`` over ``entities`` after a warm-up, in ms."""
    result = None
    for entity in entities[:WARMUP_READS]:
        read(entity)
    times = []
    for entity in entities:
        start = time.perf_counter_ns()
        result = read(entity)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return _summary(times), result


def paired_latencies(
    reads: Sequence[Callable[[int], Any]], entities: Sequence[int]
) -> list[dict[str, float]]:
    """Latencies of several readers taking turns read by read, so all see the same machine load."""
    for entity in entities[:WARMUP_READS]:
        for read in reads:
            read(entity)
    times: list[list[float]] = [[] for _ in reads]
    order = list(range(len(reads)))
    for entity in entities:
        order.append(order.pop(0))  # who goes first rotates: going first or second is not the same
        for index in order:
            start = time.perf_counter_ns()
            reads[index](entity)
            times[index].append((time.perf_counter_ns() - start) / 1e6)
    return [_summary(t) for t in times]


def _plain(value: Any) -> Any:
    """A feature value as JSON: NaN/None/NA -> None, numpy scalars -> Python."""
    if value is None:
        return None
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, str):
        value = item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def frame_sample(frame: Any, features: list[str], row_ids: list[int]) -> dict[str, list[Any]]:
    """``{row_id: [feature values]}`` for the wanted rows of a result frame."""
    if "row_id" not in frame.columns:
        raise MissingAPIError(f"the result has no row_id column (columns: {list(frame.columns)})")
    wanted = frame[frame["row_id"].isin(row_ids)]
    out: dict[str, list[Any]] = {}
    for row in wanted[["row_id", *features]].itertuples(index=False):
        out[str(int(row[0]))] = [_plain(v) for v in row[1:]]
    return out


# --------------------------------------------------------------------------- Shipyard


def _sy() -> Any:
    try:
        import shipyard as sy
    except ImportError as exc:
        raise MissingAPIError(f"cannot import shipyard ({exc}); run with the project venv") from exc
    for name in ("Entity", "FeatureView", "features"):
        if not hasattr(sy, name):
            raise MissingAPIError(f"shipyard has no sy.{name} yet")
    for name in ("apply", "historical", "materialize", "online"):
        if not hasattr(sy.features, name):
            raise MissingAPIError(f"shipyard has no sy.features.{name} yet")
    return sy


def sy_apply(meta: dict[str, Any], data: Path) -> Any:
    sy = _sy()
    user = sy.Entity(name="user", join_keys=["user_id"])
    view = sy.FeatureView(
        name=VIEW,
        entities=[user],
        source=str((data / "features.parquet").resolve()),
        timestamp_field="event_time",
        ttl=timedelta(days=meta["ttl_days"]),
        features=dict(zip(meta["features"], meta["dtypes"], strict=True)),
    )
    sy.features.apply([user, view])
    return sy


def _to_pandas(result: Any) -> Any:
    for name in ("to_pandas", "to_df"):
        convert = getattr(result, name, None)
        if convert is not None:
            return convert()
    return result


def sy_historical(meta: dict[str, Any], data: Path) -> dict[str, Any]:
    import pandas as pd

    sy = sy_apply(meta, data)
    refs = [f"{VIEW}:{f}" for f in meta["features"]]
    entity_df = pd.read_parquet(data / "entities.parquet")
    seconds, frame, memory = measured(lambda: _to_pandas(sy.features.historical(entity_df, features=refs)))
    return {
        "seconds": seconds,
        "rows": len(frame),
        **memory,
        "sample": frame_sample(frame, meta["features"], meta["sample_row_ids"]),
    }


def _sy_values(result: Any, features: list[str]) -> list[Any]:
    """The feature values of the first (only) entity of an online result, in feature order."""
    if hasattr(result, "to_dict"):
        result = result.to_dict()
    if isinstance(result, dict) and isinstance(result.get("columns"), dict):  # the HTTP answer
        result = result["columns"]
    if isinstance(result, list):  # one dict per entity row
        row = result[0]
        return [_plain(row.get(f, row.get(f"{VIEW}:{f}"))) for f in features]
    if isinstance(result, dict):  # columns
        first = {k: (v[0] if isinstance(v, list) else v) for k, v in result.items()}
        return [_plain(first.get(f, first.get(f"{VIEW}:{f}"))) for f in features]
    raise MissingAPIError(f"cannot read values from an online result of type {type(result).__name__}")


def sy_online(meta: dict[str, Any], data: Path) -> dict[str, Any]:
    sy = sy_apply(meta, data)
    refs = [f"{VIEW}:{f}" for f in meta["features"]]
    seconds, _, memory = measured(lambda: sy.features.materialize())

    def read(entity: int) -> Any:
        return sy.features.online(entity_rows=[{"user_id": entity}], features=refs)

    summary, _ = latencies(read, meta["read_entities"])
    sample = {str(e): _sy_values(read(e), meta["features"]) for e in meta["sample_entities"]}
    return {"materialize_s": seconds, **memory, "online": summary, "sample": sample}


def lean_reader(url: str, refs: list[str]) -> Callable[[int], Any]:
    """Reads over one keep-alive ``http.client`` connection: headers and body in one ``send``.

    A client that costs little, so the time measured is the server's and the network's:
    the request is encoded and the answer decoded (``json``), as any client must.
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30.0)
    headers = {"Content-Type": "application/json"}

    def read(entity: int) -> Any:
        body = json.dumps({"entity_rows": [{"user_id": entity}], "features": refs}).encode()
        conn.request("POST", "/api/v1/features/online", body, headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST /api/v1/features/online: {response.status} {data[:500]!r}")
        return json.loads(data)

    return read


def sy_http(meta: dict[str, Any], url: str, floor_url: str) -> dict[str, Any]:
    """Reads over HTTP, taking turns with the same reads against :func:`floor_app` at ``floor_url``.

    Two clients, each against both servers: a lean ``http.client`` connection (the target's
    measure) and a keep-alive ``httpx.Client``, whose own cost (a few hundred microseconds
    a request here) is reported beside it.
    """
    import httpx

    refs = [f"{VIEW}:{f}" for f in meta["features"]]
    with httpx.Client(base_url=url, timeout=30.0) as client, httpx.Client(base_url=floor_url) as floor:

        def reader(http: httpx.Client) -> Callable[[int], Any]:
            def read(entity: int) -> Any:
                body = {"entity_rows": [{"user_id": entity}], "features": refs}
                response = http.post("/api/v1/features/online", json=body)
                if response.status_code != 200:
                    raise RuntimeError(
                        f"POST /api/v1/features/online: {response.status_code} {response.text}"
                    )
                return response.json()

            return read

        readers = [lean_reader(url, refs), lean_reader(floor_url, refs), reader(client), reader(floor)]
        ours, least, ours_httpx, least_httpx = paired_latencies(readers, meta["read_entities"])
        read = readers[0]
        sample = {str(e): _sy_values(read(e), meta["features"]) for e in meta["sample_entities"]}
        example = read(meta["read_entities"][0])
    return {
        "online": ours,
        "floor": least,
        "httpx": {"online": ours_httpx, "floor": least_httpx},
        "example_response": example,
        "sample": sample,
    }


def floor_app() -> Any:
    """The least an HTTP read can cost here: a bare Starlette route on uvicorn, fixed answer.

    Run by the driver as ``uvicorn --factory _features_worker:floor_app``.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def online(request: Request) -> Response:
        await request.body()
        return Response(b'{"columns":{}}', media_type="application/json")

    return Starlette(routes=[Route("/api/v1/features/online", online, methods=["POST"])])


def _drop_redis_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        for name in client.scan_iter(match=f"{prefix}*"):
            client.delete(name)
    finally:
        client.close()


# --------------------------------------------------------------------------- Feast


FEATURE_STORE_YAML = """\
project: bench
registry: {root}/registry.db
provider: local
online_store:
  type: sqlite
  path: {root}/online_store.db
offline_store:
  type: {offline}
entity_key_serialization_version: 3
"""


def feast_store(meta: dict[str, Any], data: Path, workdir: Path, offline: str) -> Any:
    """A Feast repository in ``workdir`` (no .py file there: definitions are applied from here)."""
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64, String

    kinds = {"float": Float64, "int": Int64, "string": String}
    repo = workdir / "feature_repo"
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(FEATURE_STORE_YAML.format(root=workdir, offline=offline))
    store = FeatureStore(repo_path=str(repo))
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    source = FileSource(path=str((data / "features.parquet").resolve()), timestamp_field="event_time")
    view = FeatureView(
        name=VIEW,
        entities=[user],
        ttl=timedelta(days=meta["ttl_days"]),
        schema=[Field(name=f, dtype=kinds[d]) for f, d in zip(meta["features"], meta["dtypes"], strict=True)],
        source=source,
        online=True,
    )
    store.apply([user, view])
    return store


def feast_historical(meta: dict[str, Any], data: Path, workdir: Path, offline: str) -> dict[str, Any]:
    import pandas as pd

    store = feast_store(meta, data, workdir, offline)
    refs = [f"{VIEW}:{f}" for f in meta["features"]]
    entity_df = pd.read_parquet(data / "entities.parquet")

    def call() -> Any:
        return store.get_historical_features(entity_df=entity_df, features=refs).to_df()

    seconds, frame, memory = measured(call)
    return {
        "seconds": seconds,
        "rows": len(frame),
        **memory,
        "sample": frame_sample(frame, meta["features"], meta["sample_row_ids"]),
    }


def feast_online(meta: dict[str, Any], data: Path, workdir: Path) -> dict[str, Any]:
    store = feast_store(meta, data, workdir, "duckdb")
    refs = [f"{VIEW}:{f}" for f in meta["features"]]
    end = datetime.fromtimestamp(meta["end_ms"] / 1000, tz=UTC) + timedelta(seconds=1)
    start = end - timedelta(days=meta["days"] + 1)
    seconds, _, memory = measured(lambda: store.materialize(start_date=start, end_date=end))

    def read(entity: int) -> Any:
        return store.get_online_features(features=refs, entity_rows=[{"user_id": entity}]).to_dict()

    summary, _ = latencies(read, meta["read_entities"])
    sample = {str(e): [_plain(read(e)[f][0]) for f in meta["features"]] for e in meta["sample_entities"]}
    return {"materialize_s": seconds, **memory, "online": summary, "sample": sample}


# --------------------------------------------------------------------------- entry point


def warm_imports(side: str) -> None:
    """Import the data libraries each side loads lazily, so no timed call pays for imports."""
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    if side == "feast":
        import ibis  # noqa: F401


def run(args: argparse.Namespace) -> dict[str, Any]:
    meta = json.loads((args.data / "meta.json").read_text())
    if args.task != "http":
        warm_imports(args.side)
    if args.redis_prefix:
        import redis  # noqa: F401  (imported lazily by the Redis online store)
    if args.side == "shipyard":
        if args.task == "historical":
            return sy_historical(meta, args.data)
        if args.task == "online":
            try:
                return sy_online(meta, args.data)
            finally:
                if args.redis_prefix:
                    _drop_redis_keys(args.url, args.redis_prefix)
        return sy_http(meta, args.url, args.floor_url)
    if args.task == "historical":
        return feast_historical(meta, args.data, args.workdir, args.offline)
    return feast_online(meta, args.data, args.workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--side", choices=["shipyard", "feast"], required=True)
    parser.add_argument("--task", choices=["historical", "online", "http"], required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, default=Path.cwd())
    parser.add_argument("--offline", choices=["duckdb", "file"], default="duckdb")
    parser.add_argument("--url", default="", help="the server (http) or the Redis URL to clean")
    parser.add_argument("--floor-url", default="", help="http: where floor_app answers")
    parser.add_argument("--redis-prefix", default="", help="delete these Redis keys at the end")
    args = parser.parse_args(argv)
    try:
        result = run(args)
    except Exception as exc:
        traceback.print_exc()
        incomplete = (MissingAPIError, ImportError, AttributeError, NotImplementedError, TypeError)
        missing = args.side == "shipyard" and isinstance(exc, incomplete)
        kind = "missing_api" if missing else "crash"
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "kind": kind}, default=str))
        return MISSING_API_EXIT if missing else 1
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
