"""Entity frames in, feature frames out: the pandas and Arrow edges of retrieval.

An entity frame has one row per (entity, time) to look features up for: its join-key
columns and a timestamp column. Timestamps may be timezone-aware (any zone, even mixed
in one column of Python datetimes or ISO strings) or naive; **naive timestamps mean
UTC**. Both sides are compared as instants.

Retrieved features come back with a type per dtype that keeps missing values apart:
``int`` as pandas ``Int64``, ``bool`` as ``boolean``, ``float`` as ``float64`` (NaN for
missing), ``string`` as pandas strings, ``timestamp`` as ``datetime64[us, UTC]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

DEFAULT_TIMESTAMP_COLUMNS = ("event_timestamp",)
ROW = "__sy_row"
_NS_MIN, _NS_MAX = -(2**63) + 1, 2**63 - 1


def as_pandas(frame: Any) -> pd.DataFrame:
    """``frame`` (a pandas DataFrame or an Arrow table) as a pandas DataFrame."""
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return frame
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        converted: pd.DataFrame = frame.to_pandas()
        return converted
    raise InvalidInputError(
        f"the entity frame must be a pandas DataFrame or an Arrow table, got {type(frame)!r}"
    )


def timestamp_column(
    frame: pd.DataFrame, explicit: str | None, fields: Sequence[str], keys: Sequence[str]
) -> str:
    """The entity frame's timestamp column.

    ``explicit`` if given; else ``event_timestamp``, else a timestamp field of the views
    (``event_time``...), else the only datetime column that is not a join key.
    """
    if explicit is not None:
        if explicit not in frame.columns:
            raise InvalidInputError(
                f"the entity frame has no timestamp column {explicit!r}; its columns: {list(frame.columns)}"
            )
        return explicit
    for name in (*DEFAULT_TIMESTAMP_COLUMNS, *fields):
        if name in frame.columns:
            return name
    import pandas as pd

    dated = [c for c in frame.columns if c not in keys and pd.api.types.is_datetime64_any_dtype(frame[c])]
    if len(dated) == 1:
        return str(dated[0])
    expected = ", ".join(repr(c) for c in dict.fromkeys((*DEFAULT_TIMESTAMP_COLUMNS, *fields)))
    raise InvalidInputError(
        f"the entity frame has no timestamp column: add one named {expected}, or pass timestamp_column=...; "
        f"its columns: {list(frame.columns)}"
    )


def check_keys(frame: pd.DataFrame, keys: Sequence[str], what: str) -> None:
    """Every join key is a column of the entity frame."""
    missing = [key for key in keys if key not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"the entity frame has no join key column {missing[0]!r} (needed by {what}); "
            f"its columns: {list(frame.columns)}",
            details={"missing": missing},
        )


def utc_micros_nanos(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The column's instants as int64 microseconds (floored) and nanoseconds (None if out of range)."""
    import numpy as np
    import pandas as pd

    values = frame[column]
    try:
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        elif not pd.api.types.is_datetime64_dtype(values):
            values = pd.to_datetime(values, utc=True, format="mixed").dt.tz_localize(None)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInputError(
            f"the entity frame's timestamp column {column!r} does not parse: {exc}"
        ) from exc
    array = values.to_numpy()
    nulls = int(np.isnat(array).sum())
    if nulls:
        raise InvalidInputError(f"the entity frame's timestamp column {column!r} has {nulls} missing values")
    micros = array.astype("datetime64[us]").view("int64")
    nanos = None
    if micros.size == 0 or (micros.min() > _NS_MIN // 1000 and micros.max() < _NS_MAX // 1000):
        nanos = array.astype("datetime64[ns]").view("int64")
    return micros, nanos


def key_array(frame: pd.DataFrame, key: str) -> pa.Array:
    """One join-key column as Arrow (nullable integers stay integers)."""
    import pyarrow as pa

    try:
        array = pa.array(frame[key], from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInputError(
            f"the entity frame's join key {key!r} has mixed or unsupported values: {exc}"
        ) from exc
    return array.dictionary_decode() if pa.types.is_dictionary(array.type) else array  # a categorical


def output_pandas(table: pa.Table) -> pd.DataFrame:
    """Feature columns as pandas, with the nullable types of the module docstring."""
    import pandas as pd
    import pyarrow as pa

    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    converted: pd.DataFrame = table.to_pandas(types_mapper=mapping.get)
    return converted


def inverse_order(rows: np.ndarray) -> np.ndarray:
    """The permutation that puts a result whose row ids are ``rows`` back in row order."""
    import numpy as np

    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[rows] = np.arange(len(rows), dtype=np.int64)
    return inverse
