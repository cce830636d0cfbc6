"""The table, lines and JSON summary of ``benchmarks/features.py`` (standard library only)."""

from __future__ import annotations

import math
from typing import Any

MB = 1e6


def _ok(result: Any) -> bool:
    return isinstance(result, dict) and "error" not in result


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def compare(name: str, ours: Any, theirs: Any, what: str) -> dict[str, Any] | None:
    """Compare two ``{id: [values]}`` samples; ``None`` when either side is missing.

    ``mismatches`` counts ids present on both sides with different values; ``missing``
    counts ids one side left out of its result (Feast's file store drops entity rows).
    """
    if not (_ok(ours) and _ok(theirs)) or "sample" not in ours or "sample" not in theirs:
        return None
    a, b = ours["sample"], theirs["sample"]
    keys = sorted(set(a) | set(b), key=lambda k: int(k))
    missing = [k for k in keys if k not in a or k not in b]
    bad = [k for k in keys if k in a and k in b and not all(map(_same, a[k], b[k]))]
    examples = [f"{what} {k}: {a[k]} vs {b[k]}" for k in bad[:3]]
    examples += [f"{what} {k}: {a.get(k, 'absent')} vs {b.get(k, 'absent')}" for k in missing[:2]]
    nulls = sum(1 for k in keys if k in a and all(v is None for v in a[k]))
    return {
        "name": name,
        "compared": len(keys),
        "mismatches": len(bad),
        "missing": len(missing),
        "all_null": nulls,
        "examples": examples,
    }


def strip_samples(value: Any) -> Any:
    """``value`` with every ``sample`` replaced by its size (for the JSON summary)."""
    if isinstance(value, dict):
        return {k: (len(v) if k == "sample" else strip_samples(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_samples(v) for v in value]
    return value


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def _fmt_ms(ms: float) -> str:
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:.1f} ms"


def _mem(result: dict[str, Any]) -> str:
    call = result.get("call_peak_rss_bytes")
    during = f", during the call {call / MB:,.0f} MB" if call else ""
    return f"peak {result['peak_rss_bytes'] / MB:,.0f} MB{during}"


def _added(result: dict[str, Any]) -> float | None:
    """How far the timed call raised the worker's RSS above where it started (None: unknown)."""
    peak, before = result.get("call_peak_rss_bytes"), result.get("rss_before_bytes")
    return None if peak is None or before is None else max(peak - before, 0)


def _row(
    rows: list[list[str]], measure: str, ours: str, theirs: str, ratio: float | None, target: str
) -> bool | None:
    """Add a table row; whether the ratio meets the target (None: not measured or no target)."""
    verdict = ""
    ok = None
    if ratio is not None and target:
        threshold = float(target.split()[-1].rstrip("x"))
        ok = ratio >= threshold
        verdict = "OK" if ok else "BELOW TARGET"
    rows.append([measure, ours, theirs, "" if ratio is None else f"{ratio:.2f}x", target, verdict])
    return ok


def _error(result: Any) -> str:
    if result is None:
        return "not measured"
    return f"FAILED ({result['error'][:100]})" if "error" in result else ""


def _historical(
    rows: list[list[str]], ours: Any, feast: dict[str, Any], targets: dict[str, float]
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "shipyard": ours,
        "feast_duckdb": feast.get("historical_duckdb"),
        "feast_file": feast.get("historical_file"),
    }
    duck, file_ = entry["feast_duckdb"], entry["feast_file"]
    sy_text = f"{_fmt_s(ours['seconds'])}, {_mem(ours)}" if _ok(ours) else _error(ours)
    for label, peer in (("Feast DuckDB", duck), ("Feast file (Dask)", file_)):
        peer_text = f"{_fmt_s(peer['seconds'])}, {_mem(peer)}" if _ok(peer) else _error(peer)
        ratio = peer["seconds"] / max(ours["seconds"], 1e-9) if _ok(ours) and _ok(peer) else None
        target = f">= {targets['historical']:g}x" if label == "Feast DuckDB" else ""
        entry[f"ratio_{label.split()[1].lower()}"] = ratio
        ok = _row(rows, f"historical time vs {label}", sy_text, peer_text, ratio, target)
        if label == "Feast DuckDB":
            entry["ok_time"] = ok
    if _ok(ours) and _ok(duck):
        memory = duck["peak_rss_bytes"] / max(ours["peak_rss_bytes"], 1)
        entry["memory_ratio"] = memory
        entry["ok_memory"] = _row(
            rows,
            "historical peak RSS vs Feast DuckDB",
            f"{ours['peak_rss_bytes'] / MB:,.0f} MB",
            f"{duck['peak_rss_bytes'] / MB:,.0f} MB",
            memory,
            f">= {targets['memory']:g}x",
        )
        added = [_added(r) for r in (ours, duck)]
        if None not in added:
            entry["added_ratio"] = added[1] / max(added[0], 1)
            _row(
                rows,
                "historical RSS added by the call",
                f"{added[0] / MB:,.0f} MB",
                f"{added[1] / MB:,.0f} MB",
                entry["added_ratio"],
                "",
            )
    entry["values"] = [
        c
        for c in (
            compare("shipyard vs feast duckdb", ours, duck, "row_id"),
            compare("feast file vs feast duckdb", file_, duck, "row_id"),
        )
        if c is not None
    ]
    return entry


def _online(
    rows: list[list[str]], ours: dict[str, Any], feast: Any, targets: dict[str, float]
) -> dict[str, Any]:
    sy, http, redis = ours.get("online"), ours.get("http"), ours.get("redis")
    entry: dict[str, Any] = {"shipyard": sy, "feast": feast, "http": http, "redis": redis}
    both = _ok(sy) and _ok(feast)
    sy_text = _fmt_s(sy["materialize_s"]) if _ok(sy) else _error(sy)
    feast_text = _fmt_s(feast["materialize_s"]) if _ok(feast) else _error(feast)
    ratio = feast["materialize_s"] / max(sy["materialize_s"], 1e-9) if both else None
    entry["materialize_ratio"] = ratio
    entry["ok_materialize"] = _row(
        rows, "materialize into SQLite", sy_text, feast_text, ratio, f">= {targets['materialize']:g}x"
    )
    if _ok(redis):
        _row(rows, "materialize into Redis (Shipyard)", _fmt_s(redis["materialize_s"]), "", None, "")

    def lat(r: Any) -> str:
        return (
            f"p50 {_fmt_ms(r['online']['p50_ms'])}, p99 {_fmt_ms(r['online']['p99_ms'])}"
            if _ok(r)
            else _error(r)
        )

    ratio = feast["online"]["p50_ms"] / max(sy["online"]["p50_ms"], 1e-9) if both else None
    entry["online_ratio"] = ratio
    entry["ok_online"] = _row(
        rows, "online read, in-process (p50 ratio)", lat(sy), lat(feast), ratio, ">= 1x"
    )
    if http is not None:
        p50 = http["online"]["p50_ms"] if _ok(http) else None
        ok = p50 is not None and p50 <= targets["http_p50_ms"]
        entry["ok_http"] = ok
        verdict = "" if p50 is None else ("OK" if ok else "BELOW TARGET")
        rows.append(
            [
                "online read, HTTP (Shipyard)",
                lat(http),
                "",
                "",
                f"p50 <= {targets['http_p50_ms']:g} ms",
                verdict,
            ]
        )
    if _ok(http) and "floor" in http:
        floor = {"online": http["floor"]}
        rows.append(["online read, HTTP floor (bare Starlette)", lat(floor), "", "", "", ""])
    if _ok(http) and "httpx" in http:
        rows.append(["online read, HTTP via httpx (Shipyard)", lat(http["httpx"]), "", "", "", ""])
        floor = {"online": http["httpx"]["floor"]}
        rows.append(["online read, HTTP via httpx, floor", lat(floor), "", "", "", ""])
    if redis is not None:
        rows.append(["online read, Redis (Shipyard)", lat(redis), "", "", "", ""])
    entry["values"] = [
        c
        for c in (
            compare("shipyard vs feast online", sy, feast, "user"),
            compare("shipyard http vs in-process", http, sy, "user"),
            compare("shipyard redis vs sqlite", redis, sy, "user"),
        )
        if c is not None
    ]
    return entry


def _table(rows: list[list[str]]) -> str:
    header = ["measure", "Shipyard", "Feast", "ratio", "target", ""]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def report(
    sizes: Any, ours: dict[str, Any], theirs: dict[str, Any], targets: dict[str, float], quiet: bool
) -> dict[str, Any]:
    """Print the table (unless ``quiet``) and return the JSON summary's ``results``."""
    rows: list[list[str]] = []
    results: dict[str, Any] = {}
    if "historical" in ours or "historical_duckdb" in theirs:
        results["historical"] = _historical(rows, ours.get("historical"), theirs, targets)
    if "online" in ours or "online" in theirs:
        results["online"] = _online(rows, ours, theirs.get("online"), targets)
    warnings = [
        f"WARNING values differ ({c['name']}): {c['mismatches']} of {c['compared']} differ, "
        f"{c['missing']} missing on one side; " + "; ".join(c["examples"])
        for entry in results.values()
        for c in entry.get("values", [])
        if c["mismatches"] or c["missing"]
    ]
    if not quiet:
        print(
            f"features: {sizes.rows:,} feature rows, {sizes.entities:,} users, "
            f"{sizes.entity_rows:,} entity rows, TTL {sizes.ttl_days} d; peak = the worker's max RSS "
            "(os.wait4), 'during the call' = VmHWM reset just before it; online = per-call latency over "
            f"{sizes.reads:,} reads after 100 warm-up reads"
        )
        print(_table(rows))
        for entry in results.values():
            for c in entry.get("values", []):
                print(
                    f"values ({c['name']}): {c['compared']} compared, {c['mismatches']} mismatches"
                    f", {c['missing']} missing on one side ({c['all_null']} with no value)"
                )
        for warning in warnings:
            print(warning)
    return {
        "results": strip_samples(results),
        "warnings": warnings,
        "sizes": vars(sizes) if hasattr(sizes, "__dict__") else sizes,
    }
