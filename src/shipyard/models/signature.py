"""What a model takes and gives: input columns with their dtypes, and the output's shape.

The dtypes are a small vocabulary, the same whatever library made the data:
``bool``, ``int``, ``float``, ``string``, ``datetime``. Checking a frame against a
signature names every missing and every mistyped column at once; ints are
accepted where floats are expected (and converted), extra columns are dropped and
the rest reordered to the signature's order.

>>> sig = Signature([ColumnSpec("age", "int"), ColumnSpec("income", "float")])
>>> Signature.from_dict(sig.to_dict()) == sig
True
>>> sig.column_names
['age', 'income']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DTYPES = ("bool", "int", "float", "string", "datetime")
# What a column of the key kind may be given as (besides itself).
_ACCEPTED = {"float": {"float", "int"}}
# pandas.api.types.infer_dtype results of object columns -> our kind.
_INFERRED = {
    "string": "string",
    "empty": "string",
    "boolean": "bool",
    "integer": "int",
    "floating": "float",
    "mixed-integer-float": "float",
    "datetime": "datetime",
    "datetime64": "datetime",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its name and its dtype (one of :data:`DTYPES`)."""

    name: str
    dtype: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInputError(f"a signature column needs a non-empty name, got {self.name!r}")
        if self.dtype not in DTYPES:
            raise InvalidInputError(
                f"column {self.name!r} has dtype {self.dtype!r}; use one of {', '.join(DTYPES)}"
            )


@dataclass(frozen=True)
class Signature:
    """Input columns (in order) and a description of the output (``{"dtype", "shape"}``, may be empty)."""

    inputs: list[ColumnSpec]
    outputs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [c.name for c in self.inputs]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise InvalidInputError(f"a signature names each column once; repeated: {', '.join(duplicated)}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": [{"name": c.name, "dtype": c.dtype} for c in self.inputs], "outputs": self.outputs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        try:
            inputs = [ColumnSpec(str(c["name"]), str(c["dtype"])) for c in data.get("inputs") or []]
            outputs = dict(data.get("outputs") or {})
        except (TypeError, KeyError, AttributeError) as exc:
            raise InvalidInputError(f"malformed signature {data!r}: {exc}") from None
        return cls(inputs, outputs)

    def check(self, frame: Any) -> pd.DataFrame:
        """``frame`` (a DataFrame, a dict of columns, a 2-D array) checked and put in signature order.

        Raises :class:`InvalidInputError` naming the missing and the mistyped columns.
        """
        data = as_frame(frame, self.column_names)
        by_name = {str(c): c for c in data.columns}
        missing = [c.name for c in self.inputs if c.name not in by_name]
        mistyped: dict[str, dict[str, str]] = {}
        for spec in self.inputs:
            if spec.name in by_name:
                got = column_dtype(data[by_name[spec.name]])
                if got != spec.dtype and got not in _ACCEPTED.get(spec.dtype, ()):
                    mistyped[spec.name] = {
                        "expected": spec.dtype,
                        "got": got or str(data[by_name[spec.name]].dtype),
                    }
        if missing or mistyped:
            raise _mismatch(missing, mistyped)
        checked = data[[by_name[c] for c in self.column_names]]
        checked.columns = self.column_names
        floats = [c.name for c in self.inputs if c.dtype == "float" and checked[c.name].dtype.kind != "f"]
        if floats:
            checked = checked.astype({name: "float64" for name in floats})
        return checked


def _mismatch(missing: list[str], mistyped: dict[str, dict[str, str]]) -> InvalidInputError:
    parts = []
    if missing:
        parts.append("missing columns: " + ", ".join(repr(m) for m in missing))
    if mistyped:
        parts.append(
            "mistyped columns: "
            + ", ".join(
                f"{name!r} (expected {t['expected']}, got {t['got']})" for name, t in mistyped.items()
            )
        )
    return InvalidInputError(
        "input does not match the model's signature: " + "; ".join(parts),
        details={"missing": missing, "mistyped": mistyped},
    )


def as_frame(data: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a mapping of columns, a list of row dicts or a 2-D array.

    A 2-D array's columns are named ``columns`` when given (and the widths agree), else
    ``"0"``, ``"1"``, ...
    """
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data))
    if isinstance(data, list) and all(isinstance(row, Mapping) for row in data):
        return pd.DataFrame(data)
    array = np.asarray(data) if isinstance(data, np.ndarray | list | tuple) else None
    if array is None or array.ndim != 2:
        raise InvalidInputError(
            f"model input must be a pandas DataFrame, a dict of columns, a list of row dicts or a 2-D array, "
            f"got {type(data).__name__}" + ("" if array is None else f" with {array.ndim} dimension(s)")
        )
    names = list(columns) if columns is not None and len(columns) == array.shape[1] else None
    return pd.DataFrame(array, columns=names or [str(i) for i in range(array.shape[1])])


def column_dtype(series: pd.Series[Any]) -> str | None:
    """The vocabulary dtype of a column, or None when it has none (complex numbers, mixed objects)."""
    import pandas as pd
    from pandas.api import types

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return column_dtype(pd.Series(dtype.categories))
    if types.is_bool_dtype(dtype):
        return "bool"
    if types.is_integer_dtype(dtype):
        return "int"
    if types.is_float_dtype(dtype):
        return "float"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if dtype.kind == "O":
        return _INFERRED.get(types.infer_dtype(series, skipna=True))
    return None


def infer_signature(input_example: Any, output_example: Any = None) -> Signature:
    """The signature of ``input_example`` (and the shape of ``output_example`` when given).

    >>> infer_signature({"age": [31, 40], "city": ["Oslo", "Rome"]}, [0.5, 0.7]).to_dict()
    {'inputs': [{'name': 'age', 'dtype': 'int'}, {'name': 'city', 'dtype': 'string'}], \
'outputs': {'dtype': 'float', 'shape': [-1]}}
    """
    frame = as_frame(input_example)
    inputs = []
    for column in frame.columns:
        kind = column_dtype(frame[column])
        if kind is None:
            raise InvalidInputError(
                f"cannot infer a signature: column {str(column)!r} has dtype {frame[column].dtype}; "
                f"convert it to one of {', '.join(DTYPES)}"
            )
        inputs.append(ColumnSpec(str(column), kind))
    return Signature(inputs, {} if output_example is None else describe_output(output_example))


def describe_output(output: Any) -> dict[str, Any]:
    """``{"dtype": ..., "shape": [-1, ...]}`` of a model's output (the first axis is the rows)."""
    import numpy as np

    array = np.asarray(output)
    return {"dtype": array_dtype(array), "shape": [-1, *[int(n) for n in array.shape[1:]]]}


def array_dtype(array: np.ndarray[Any, Any]) -> str:
    """The vocabulary dtype of a NumPy array (``string`` for text and other objects)."""
    kind = array.dtype.kind
    return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime"}.get(kind, "string")
