"""Reference profiles: what a drift check needs to know of its reference, computed once.

A :class:`ReferenceProfile` holds one profile per column:

* :class:`NumericProfile`: the sorted finite values (all of them, or a quantile
  sketch of ``max_sample`` order statistics when there are more), the count, mean,
  population std, min, max and number of distinct values, the distinct values with
  their counts when there are at most 20, and the counts in the reference's decile
  bins (for PSI);
* :class:`CategoricalProfile`: each category with its count.

With it, a window is checked in time that grows with the window, not the reference:
KS searches the sorted reference; PSI and Jensen-Shannon use stored bins (or binary
search for Sturges bins); chi-square and the z-test use stored category counts.

Column types follow Evidently's inference (so default tests match): floats are
numeric; integers are categorical when they take at most 10 distinct values, else
numeric; booleans and strings are categorical (strings with more distinct values
than half their count are flagged ``text`` and left out of default drift checks);
other types (dates, nested) are listed in ``skipped``. Missing values (null, NaN)
are counted and left out; so are infinite values (counted apart), as in Evidently.

Profiles serialise to ``.npz`` bytes (arrays plus one JSON header, no pickle; see
:mod:`shipyard.monitoring.profile_codec`) and round-trip exactly.

>>> import pandas as pd
>>> profile = build_profile(pd.DataFrame({"x": [1.0, 2.0, 3.0, None], "c": ["a", "b", "a", "a"]}))
>>> profile.column("x").count, profile.column("x").n_missing, profile.column("c").counts.tolist()
(3, 1, [3, 1])
>>> ReferenceProfile.from_bytes(profile.to_bytes()).column("c").categories
('a', 'b')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.sources import numpy_values
from shipyard.stats.twosample import bin_counts_sorted, quantile_edges, run_lengths

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.monitoring.sources import ColumnSource

__all__ = [
    "DEFAULT_MAX_SAMPLE",
    "DEFAULT_PSI_BINS",
    "CategoricalProfile",
    "ColumnProfile",
    "NumericProfile",
    "ReferenceProfile",
    "build_profile",
    "categorical_profile",
    "column_kind",
    "numeric_profile",
    "profile_column",
    "profile_values",
]

DEFAULT_MAX_SAMPLE = 1_000_000
"""Numeric columns with more finite values keep a quantile sketch of this many order statistics."""
DEFAULT_PSI_BINS = 10
FEW_VALUES = 20  # Evidently bins numeric columns by value (not Sturges) up to this many distinct values
INTEGER_CATEGORIES = 10  # Evidently: an integer column with at most this many values is categorical
MAX_CATEGORIES = 100_000  # a string column with more distinct values is free text: not profiled
TEXT_SHARE = 0.5  # Evidently: strings with more distinct values than this share of values are text

Array = NDArray[np.float64]
Counts = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """A numeric column: its sorted finite values (or a sketch of them) and summary statistics."""

    kind: ClassVar[str] = "numeric"
    name: str
    n_rows: int
    n_missing: int
    n_infinite: int
    count: int
    mean: float
    std: float
    min: float
    max: float
    n_unique: int
    integer: bool
    sample: Array
    sketched: bool
    values: Array | None
    value_counts: Counts | None
    psi_edges: Array
    psi_counts: Counts
    psi_bins: int | None = None

    def frequencies(self) -> tuple[Array, Counts]:
        """Distinct values and their counts (exact unless the sample is a sketch with > 20 values)."""
        if self.values is not None and self.value_counts is not None:
            return self.values, self.value_counts
        return run_lengths(self.sample)


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """A categorical column: each category and how often it occurs."""

    kind: ClassVar[str] = "categorical"
    name: str
    n_rows: int
    n_missing: int
    count: int
    categories: tuple[Any, ...]
    counts: Counts
    text: bool = False

    @property
    def n_unique(self) -> int:
        return len(self.categories)

    def counts_for(self, categories: list[Any]) -> Counts:
        """The count of each of ``categories`` (0 for those never seen)."""
        index = {c: i for i, c in enumerate(self.categories)}
        return np.array([self.counts[index[c]] if c in index else 0 for c in categories], dtype=np.int64)


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Column profiles of one reference dataset; ``skipped`` maps unprofiled columns to why."""

    columns: dict[str, ColumnProfile]
    n_rows: int
    max_sample: int | None = DEFAULT_MAX_SAMPLE
    psi_bins: int = DEFAULT_PSI_BINS
    skipped: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    @property
    def names(self) -> list[str]:
        return list(self.columns) + list(self.skipped)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``; InvalidInputError if it has none."""
        if name in self.columns:
            return self.columns[name]
        if name in self.skipped:
            raise InvalidInputError(f"column {name!r} is not profiled: {self.skipped[name]}")
        raise InvalidInputError(f"the reference has no column {name!r}")

    def to_bytes(self) -> bytes:
        """The profile as ``.npz`` bytes: a JSON header and the arrays (no pickle)."""
        from shipyard.monitoring.profile_codec import encode

        return encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceProfile:
        """The profile :meth:`to_bytes` wrote; InvalidInputError for anything else."""
        from shipyard.monitoring.profile_codec import decode

        return decode(data)


# -- building ----------------------------------------------------------------------------


def numeric_profile(
    name: str,
    values: Array,
    *,
    n_rows: int | None = None,
    n_missing: int | None = None,
    integer: bool = False,
    max_sample: int | None = DEFAULT_MAX_SAMPLE,
    psi_bins: int | None = DEFAULT_PSI_BINS,
    summary: bool = True,
) -> NumericProfile:
    """Profile of a float array (NaN for missing values; pass ``n_missing`` if nulls were dropped).

    A window being checked needs neither PSI bins (``psi_bins=None``) nor its own mean
    and std (``summary=False`` leaves them NaN).
    """
    values = np.asarray(values, dtype=np.float64)
    usable = np.isfinite(values)
    if usable.all():
        n_nan, finite = 0, values.copy()  # a copy: sorted in place below
    else:
        n_nan = int(np.count_nonzero(np.isnan(values[~usable])))
        finite = values[usable]
    finite.sort()
    count = finite.size
    n_unique = int(np.count_nonzero(finite[1:] != finite[:-1])) + 1 if count else 0
    few = run_lengths(finite) if n_unique <= FEW_VALUES else None
    edges, psi = np.zeros(0), np.zeros(0, dtype=np.int64)
    if count and psi_bins is not None:
        edges = quantile_edges(finite, psi_bins, presorted=True)
        psi = bin_counts_sorted(finite, edges)
    return NumericProfile(
        name=name,
        n_rows=values.size if n_rows is None else n_rows,
        n_missing=n_nan if n_missing is None else n_missing + n_nan,
        n_infinite=values.size - n_nan - count,
        count=count,
        mean=float(finite.mean()) if count and summary else float("nan"),
        std=float(finite.std()) if count and summary else float("nan"),
        min=float(finite[0]) if count else float("nan"),
        max=float(finite[-1]) if count else float("nan"),
        n_unique=n_unique,
        integer=integer,
        sample=_sketch(finite, max_sample),
        sketched=max_sample is not None and count > max_sample,
        values=few[0] if few else None,
        value_counts=few[1] if few else None,
        psi_edges=edges,
        psi_counts=psi,
        psi_bins=psi_bins if count else None,
    )


def categorical_profile(
    name: str, categories: list[Any], counts: Any, *, n_rows: int, n_missing: int
) -> CategoricalProfile:
    """Profile of a categorical column from its distinct values and their counts.

    Values equal in Python are one category (``0.0``, ``-0.0`` and ``0``, as pandas counts them).
    """
    merged: dict[Any, int] = {}
    for value, n in zip(categories, np.asarray(counts, dtype=np.int64).tolist(), strict=True):
        key = _plain(value)
        merged[key] = merged.get(key, 0) + n
    keys = list(merged)
    ordered = tuple(keys[i] for i in _category_order(keys))
    counts_array = np.array([merged[k] for k in ordered], dtype=np.int64)
    count = int(counts_array.sum())
    return CategoricalProfile(
        name=name,
        n_rows=n_rows,
        n_missing=n_missing,
        count=count,
        categories=ordered,
        counts=counts_array,
        text=len(ordered) > TEXT_SHARE * count and len(ordered) > FEW_VALUES,
    )


def column_kind(arrow_type: pa.DataType) -> str | None:
    """``"numeric"``, ``"integer"`` (decided by its distinct values), ``"categorical"``, or None (skipped)."""
    import pyarrow as pa

    types = pa.types
    if types.is_dictionary(arrow_type):
        return column_kind(arrow_type.value_type)
    if types.is_floating(arrow_type) or types.is_decimal(arrow_type):
        return "numeric"
    if types.is_integer(arrow_type):
        return "integer"
    if types.is_boolean(arrow_type) or types.is_string(arrow_type) or types.is_large_string(arrow_type):
        return "categorical"
    if hasattr(types, "is_string_view") and types.is_string_view(arrow_type):
        return "categorical"
    return None


def profile_column(
    source: ColumnSource,
    name: str,
    kind: str | None = None,
    *,
    max_sample: int | None = DEFAULT_MAX_SAMPLE,
    psi_bins: int | None = DEFAULT_PSI_BINS,
    summary: bool = True,
) -> ColumnProfile:
    """Read column ``name`` of ``source`` and profile it.

    ``kind`` forces ``"numeric"`` or ``"categorical"`` (a current window is read the
    way its reference was); without it the column's type decides (module docstring).
    """
    arrow_type = source.type(name)
    guessed = column_kind(arrow_type)
    if guessed is None and kind is None:
        raise InvalidInputError(f"column {name!r} has type {arrow_type}, which drift checks do not support")
    column = source.column(name)
    wanted = kind or guessed
    if wanted == "categorical" or (wanted == "integer" and _few_integers(column)):
        return _categorical_from_arrow(name, column)
    return _numeric_from_arrow(name, column, max_sample=max_sample, psi_bins=psi_bins, summary=summary)


def profile_values(values: Any, kind: str | None = None, name: str = "sample") -> ColumnProfile:
    """The exact profile (no sketch) of a 1-D array-like: list, numpy array, pandas Series or Arrow array.

    ``kind`` (``"numeric"`` or ``"categorical"``) overrides the type's rule; without it
    numbers (integers too) are numeric and anything else categorical.
    """
    import pyarrow as pa

    from shipyard.monitoring.sources import ArrowSource

    array = _as_arrow(values)
    if kind is None:
        kind = "numeric" if column_kind(array.type) in ("numeric", "integer") else "categorical"
    return profile_column(ArrowSource(pa.table({name: array})), name, kind, max_sample=None, psi_bins=None)


def build_profile(
    data: Any,
    columns: list[str] | None = None,
    *,
    max_sample: int | None = DEFAULT_MAX_SAMPLE,
    psi_bins: int = DEFAULT_PSI_BINS,
    source: str | None = None,
) -> ReferenceProfile:
    """Profile every supported column of ``data``: a DataFrame, Arrow table, Parquet path or column source."""
    from shipyard.monitoring.sources import is_table_like, open_source

    table: ColumnSource = open_source(data) if is_table_like(data) else data
    _check_bins(psi_bins)
    profiles: dict[str, ColumnProfile] = {}
    skipped: dict[str, str] = {}
    for name in columns if columns is not None else table.names:
        arrow_type = table.type(name)
        if column_kind(arrow_type) is None:
            skipped[name] = f"type {arrow_type} is not supported"
            continue
        profile = profile_column(table, name, max_sample=max_sample, psi_bins=psi_bins)
        if isinstance(profile, CategoricalProfile) and len(profile.categories) > MAX_CATEGORIES:
            skipped[name] = f"free text ({len(profile.categories):,} distinct values)"
            continue
        profiles[name] = profile
    return ReferenceProfile(profiles, table.num_rows, max_sample, psi_bins, skipped, source)


# -- internals ---------------------------------------------------------------------------


def _check_bins(bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise InvalidInputError(f"bins must be a positive integer, got {bins!r}")


def _sketch(values: Array, max_sample: int | None) -> Array:
    """``values`` itself, or ``max_sample`` order statistics at evenly spaced ranks (each stands for n/k)."""
    if max_sample is None or values.size <= max_sample:
        return values
    ranks = ((np.arange(max_sample) + 0.5) * (values.size / max_sample)).astype(np.int64)
    return values[np.minimum(ranks, values.size - 1)]


def _as_arrow(values: Any) -> pa.ChunkedArray:
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        return values
    if isinstance(values, pa.Array):
        return pa.chunked_array([values])
    try:
        if type(values).__module__.startswith("pandas"):
            return pa.chunked_array([pa.Array.from_pandas(values)])
        array = np.asarray(values)
        if array.ndim != 1:
            raise InvalidInputError(f"expected a one-dimensional sample, got shape {array.shape}")
        items = array.tolist() if array.dtype == object else array
        return pa.chunked_array([pa.array(items, from_pandas=True)])
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the sample: {exc}") from exc


def _few_integers(column: pa.ChunkedArray) -> bool:
    import pyarrow.compute as pc

    return int(pc.count_distinct(column, mode="only_valid").as_py()) <= INTEGER_CATEGORIES


def _numeric_from_arrow(name: str, column: pa.ChunkedArray, **options: Any) -> NumericProfile:
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (
        pa.types.is_integer(column.type)
        or pa.types.is_floating(column.type)
        or pa.types.is_decimal(column.type)
    ):
        raise InvalidInputError(f"column {name!r} holds {column.type} values where numbers were expected")
    integer = pa.types.is_integer(column.type)
    rows, nulls = len(column), column.null_count
    if nulls or not pa.types.is_float64(column.type):  # pyarrow.compute only when needed: 12 MB
        import pyarrow.compute as pc

        column = pc.cast(pc.drop_null(column) if nulls else column, pa.float64())
    values = numpy_values(column, np.float64)
    return numeric_profile(name, values, n_rows=rows, n_missing=nulls, integer=integer, **options)


def _categorical_from_arrow(name: str, column: pa.ChunkedArray) -> CategoricalProfile:
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        values, counts = _dictionary_counts(column)
    else:
        import pyarrow.compute as pc

        counted = pc.value_counts(column)
        values, counts = counted.field(0).to_pylist(), counted.field(1).to_pylist()
    present = [i for i, value in enumerate(values) if value is not None]
    return categorical_profile(
        name,
        [values[i] for i in present],
        [counts[i] for i in present],
        n_rows=len(column),
        n_missing=column.null_count,
    )


def _dictionary_counts(column: pa.ChunkedArray) -> tuple[list[Any], list[int]]:
    """Values and counts of a dictionary column: a bincount of each chunk's indices."""
    import pyarrow as pa

    values: list[Any] = []
    counts: list[int] = []
    for chunk in column.chunks:
        indices = chunk.indices
        if chunk.null_count:
            import pyarrow.compute as pc

            indices = pc.drop_null(indices)
        signed = "i" if pa.types.is_signed_integer(indices.type) else "u"
        index_type = np.dtype(f"{signed}{indices.type.bit_width // 8}")
        found = np.bincount(numpy_values(_chunked(indices), index_type), minlength=len(chunk.dictionary))
        values.extend(chunk.dictionary.to_pylist())
        counts.extend(found.tolist())
    return values, counts  # categorical_profile merges values repeated across chunks


def _chunked(array: pa.Array) -> pa.ChunkedArray:
    import pyarrow as pa

    return pa.chunked_array([array], type=array.type)


def _category_order(categories: list[Any]) -> list[int]:
    """Indices of ``categories`` in sorted order when they sort, else as given."""
    try:
        return sorted(range(len(categories)), key=categories.__getitem__)
    except TypeError:
        return list(range(len(categories)))


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value for a category (numpy scalars become Python ones)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
