"""The ``.npz`` form of a :class:`~shipyard.monitoring.profiles.ReferenceProfile`.

One archive: ``header``, a JSON document (format version, table-level fields, and per
column its kind, counts, summary figures and, for categorical columns, the categories),
and each column's arrays as ``<i>.<name>`` (``sample``, ``values``, ``value_counts``,
``psi_edges``, ``psi_counts``; ``counts`` for categories). Read with
``allow_pickle=False``: nothing in it can run code. A numeric column with at most 20
distinct values keeps only its values and counts; its sorted sample is rebuilt on read.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.profiles import CategoricalProfile, ColumnProfile, NumericProfile, ReferenceProfile

__all__ = ["FORMAT", "decode", "encode"]

FORMAT = 1


def encode(profile: ReferenceProfile) -> bytes:
    """``profile`` as ``.npz`` bytes."""
    header: dict[str, Any] = {
        "format": FORMAT,
        "n_rows": profile.n_rows,
        "max_sample": profile.max_sample,
        "psi_bins": profile.psi_bins,
        "skipped": profile.skipped,
        "source": profile.source,
        "columns": [],
    }
    arrays: dict[str, NDArray[Any]] = {}
    for i, column in enumerate(profile.columns.values()):
        header["columns"].append(_column_header(column))
        arrays.update({f"{i}.{key}": value for key, value in _column_arrays(column).items()})
    buffer = io.BytesIO()
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def decode(data: bytes) -> ReferenceProfile:
    """The profile :func:`encode` wrote; InvalidInputError for anything else."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes())
            arrays = {key: npz[key] for key in npz.files if key != "header"}
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInputError(f"not a reference profile: {exc}") from exc
    if header.get("format") != FORMAT:
        raise InvalidInputError(f"unsupported reference profile format {header.get('format')!r}")
    columns = {}
    for i, meta in enumerate(header["columns"]):
        own = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{i}.")}
        column = _column_from(meta, own)
        columns[column.name] = column
    return ReferenceProfile(
        columns,
        header["n_rows"],
        header["max_sample"],
        header["psi_bins"],
        header["skipped"],
        header["source"],
    )


def _column_header(column: ColumnProfile) -> dict[str, Any]:
    if isinstance(column, CategoricalProfile):
        return {
            "kind": "categorical",
            "name": column.name,
            "n_rows": column.n_rows,
            "n_missing": column.n_missing,
            "categories": list(column.categories),
            "text": column.text,
        }
    fields = ("name", "n_rows", "n_missing", "n_infinite", "count", "mean", "std", "min", "max", "n_unique")
    header = {key: getattr(column, key) for key in fields}
    header.update(kind="numeric", integer=column.integer, sketched=column.sketched, psi_bins=column.psi_bins)
    return header


def _column_arrays(column: ColumnProfile) -> dict[str, NDArray[Any]]:
    if isinstance(column, CategoricalProfile):
        return {"counts": column.counts}
    arrays: dict[str, NDArray[Any]] = {"psi_edges": column.psi_edges, "psi_counts": column.psi_counts}
    if column.values is not None and column.value_counts is not None:
        arrays.update(values=column.values, value_counts=column.value_counts)
        if column.sketched:
            arrays["sample"] = column.sample
    else:
        arrays["sample"] = column.sample
    return arrays


def _column_from(meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> ColumnProfile:
    if meta["kind"] == "categorical":
        return CategoricalProfile(
            name=meta["name"],
            n_rows=meta["n_rows"],
            n_missing=meta["n_missing"],
            count=int(arrays["counts"].sum()),
            categories=tuple(meta["categories"]),
            counts=arrays["counts"],
            text=meta["text"],
        )
    values, value_counts = arrays.get("values"), arrays.get("value_counts")
    sample = arrays.get("sample")
    if sample is None and values is not None and value_counts is not None:
        sample = np.repeat(values, value_counts)
    return NumericProfile(
        name=meta["name"],
        n_rows=meta["n_rows"],
        n_missing=meta["n_missing"],
        n_infinite=meta["n_infinite"],
        count=meta["count"],
        mean=float(meta["mean"]),
        std=float(meta["std"]),
        min=float(meta["min"]),
        max=float(meta["max"]),
        n_unique=meta["n_unique"],
        integer=meta["integer"],
        sketched=meta["sketched"],
        psi_bins=meta["psi_bins"],
        sample=sample if sample is not None else np.zeros(0),
        values=values,
        value_counts=value_counts,
        psi_edges=arrays["psi_edges"],
        psi_counts=arrays["psi_counts"],
    )
