"""Request bodies to model inputs: parse the payload, check it against the model's signature.

Two payload shapes are accepted on ``/v1/deployments/{name}/predict``:

* ``{"instances": [{col: value, ...}, ...]}``: rows as objects (or as arrays in the
  signature's column order);
* ``{"inputs": {col: [values], ...}}``: columns.

Both become :class:`Columns` (one list per column). An :class:`InputPlan`, built once
per signature, turns columns into a :class:`Prepared` batch: a float matrix in the
signature's order when every input is numeric (the fast path: no DataFrame), else the
columns themselves. Every missing and every mistyped column is named at once
(:class:`RequestRejected`, HTTP 422).

>>> from shipyard.models.signature import ColumnSpec, Signature
>>> plan = InputPlan(Signature([ColumnSpec("age", "int"), ColumnSpec("income", "float")]))
>>> plan.prepare(parse_payload({"instances": [{"age": 31, "income": 2.5}]})).matrix.tolist()
[[31.0, 2.5]]
>>> try:
...     plan.prepare(parse_payload({"inputs": {"age": ["x"]}}))
... except RequestRejected as exc:
...     print(exc.status, exc.message)
422 input does not match the model's signature: missing columns: 'income'; mistyped columns: 'age' \
(expected int, got string)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.models.signature import Signature
from shipyard.serving.prediction_log import InputLayout

if TYPE_CHECKING:
    import numpy as np

MAX_LISTED = 20

# JSON value types each signature dtype accepts (None is a missing value where allowed).
_NONE = type(None)
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "float": (float, int, _NONE),
    "int": (int,),
    "bool": (bool,),
    "string": (str, _NONE),
    "datetime": (str, _NONE),
}
_NUMERIC = {"float", "int", "bool"}
_JSON_NAMES = {float: "float", int: "int", bool: "bool", str: "string", _NONE: "null", list: "array"}


class RequestRejected(Exception):
    """A request the data plane answers with a 4xx status (not a failure of the server)."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}


def bad_request(message: str, details: dict[str, Any] | None = None) -> RequestRejected:
    return RequestRejected(400, message, details)


@dataclass(frozen=True)
class Columns:
    """Parsed input: one list of values per column, ``count`` rows."""

    data: dict[str, list[Any]]
    count: int

    def rows(self) -> list[dict[str, Any]]:
        """The columns as row objects (for the feature store's entity rows)."""
        names = list(self.data)
        return [{n: self.data[n][i] for n in names} for i in range(self.count)]

    @classmethod
    def from_rows(cls, rows: list[Any], order: list[str] | None) -> Columns:
        """Columns from row objects, or from row arrays in ``order`` (the signature's columns)."""
        if not rows:
            raise bad_request("'instances' is empty: send at least one row")
        first = rows[0]
        if isinstance(first, dict):
            if len(rows) == 1:
                return cls({str(k): [v] for k, v in first.items()}, 1)
            if not all(isinstance(r, dict) for r in rows):
                raise bad_request("every item of 'instances' must be an object of {column: value}")
            names = list(dict.fromkeys(k for r in rows for k in r))
            return cls({n: [r.get(n) for r in rows] for n in names}, len(rows))
        if isinstance(first, list):
            return cls._from_arrays(rows, order)
        raise bad_request("'instances' must be a list of objects {column: value} (or of arrays)")

    @classmethod
    def _from_arrays(cls, rows: list[Any], order: list[str] | None) -> Columns:
        if order is None:
            raise bad_request("rows given as arrays need a model with a signature; send objects instead")
        width = len(order)
        if not all(isinstance(r, list) and len(r) == width for r in rows):
            raise bad_request(
                f"every row of 'instances' given as an array must have {width} values, in the "
                f"signature's order: {', '.join(order[:MAX_LISTED])}"
            )
        return cls({name: [r[i] for r in rows] for i, name in enumerate(order)}, len(rows))

    @classmethod
    def from_columns(cls, inputs: dict[str, Any]) -> Columns:
        if not inputs:
            raise bad_request("'inputs' is empty: send at least one column")
        lengths = set()
        data: dict[str, list[Any]] = {}
        for name, values in inputs.items():
            if not isinstance(values, list):
                raise bad_request(f"'inputs' column {name!r} must be a list of values")
            data[str(name)] = values
            lengths.add(len(values))
        if len(lengths) != 1:
            raise bad_request(f"the columns of 'inputs' have different lengths: {sorted(lengths)}")
        count = lengths.pop()
        if count == 0:
            raise bad_request("the columns of 'inputs' are empty: send at least one row")
        return cls(data, count)

    @classmethod
    def concat(cls, parts: list[Columns]) -> Columns:
        if len(parts) == 1:
            return parts[0]
        names = list(dict.fromkeys(n for p in parts for n in p.data))
        data = {n: [v for p in parts for v in p.data.get(n, [None] * p.count)] for n in names}
        return cls(data, sum(p.count for p in parts))


def parse_payload(body: Any, order: list[str] | None = None) -> Columns:
    """The columns of a ``/v1`` predict body (see the module docstring)."""
    if not isinstance(body, dict):
        raise bad_request('the body must be a JSON object: {"instances": [...]} or {"inputs": {...}}')
    instances = body.get("instances")
    if isinstance(instances, list):
        return Columns.from_rows(instances, order)
    inputs = body.get("inputs")
    if isinstance(inputs, dict):
        return Columns.from_columns(inputs)
    raise bad_request(
        'the body needs "instances" (a list of {column: value} rows) or "inputs" ({column: [values]})'
    )


@dataclass(frozen=True)
class Prepared:
    """A request's rows ready for the model: a float matrix (numeric signatures) or checked columns."""

    count: int
    columns: dict[str, list[Any]]  # the model's inputs, in signature order (for the prediction log)
    matrix: np.ndarray[Any, Any] | None
    proba: bool
    layout: InputLayout | None = None  # how ``matrix`` lays the inputs out (numeric signatures)
    _rows: list[dict[str, Any]] | None = field(default=None, compare=False, repr=False)

    def rows(self) -> list[dict[str, Any]]:
        """The inputs as one ``{column: value}`` per row (built once: the primary's and the shadows'
        prediction records share them)."""
        if self._rows is None:
            names, values = list(self.columns), list(self.columns.values())
            if self.count == 1:
                rows = [dict(zip(names, [v[0] for v in values], strict=True))]
            else:
                rows = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
            object.__setattr__(self, "_rows", rows)
            return rows
        return self._rows


class InputPlan:
    """How a signature's inputs are checked and laid out; built once per loaded model."""

    def __init__(self, signature: Signature | None) -> None:
        self.signature = signature
        self.names = None if signature is None else signature.column_names
        self.dtypes = None if signature is None else [c.dtype for c in signature.inputs]
        self.numeric = signature is not None and all(c.dtype in _NUMERIC for c in signature.inputs)
        # Two plans with the same key lay the same columns out the same way.
        self.key = None if signature is None else tuple((c.name, c.dtype) for c in signature.inputs)
        self.layout = (
            InputLayout(tuple(self.names), tuple(self.dtypes))
            if self.numeric and self.names and self.dtypes
            else None
        )
        self._same: dict[int, tuple[InputPlan, bool]] = {}

    def same_layout(self, other: InputPlan) -> bool:
        """Whether ``other`` lays the same columns out the same way (remembered per plan: the keys
        are compared once, not on every request)."""
        if other is self:
            return self.key is not None
        known = self._same.get(id(other))
        if known is None or known[0] is not other:
            known = self._same[id(other)] = (other, self.key is not None and self.key == other.key)
        return known[1]

    def prepare(self, columns: Columns, proba: bool = False) -> Prepared:
        """``columns`` checked and laid out; :class:`RequestRejected` (422) naming the bad columns."""
        if self.names is None or self.dtypes is None:
            return Prepared(columns.count, columns.data, None, proba)
        data = columns.data
        picked: dict[str, list[Any]] = {}
        missing: list[str] = []
        mistyped: dict[str, dict[str, str]] = {}
        for name, dtype in zip(self.names, self.dtypes, strict=True):
            values = data.get(name)
            if values is None:
                missing.append(name)
                continue
            accepted = _ACCEPTS[dtype]
            for value in values:
                if type(value) not in accepted:
                    mistyped[name] = {"expected": dtype, "got": _JSON_NAMES.get(type(value), "object")}
                    break
            picked[name] = values
        if missing or mistyped:
            raise _mismatch(missing, mistyped)
        return Prepared(columns.count, picked, self._matrix(picked, columns.count), proba, self.layout)

    def _matrix(self, picked: dict[str, list[Any]], count: int) -> np.ndarray[Any, Any] | None:
        if not self.numeric:
            return None
        import numpy as np

        if count == 1:
            return np.array([[values[0] for values in picked.values()]], dtype=np.float64)
        return np.array(list(picked.values()), dtype=np.float64).T.copy()


def _mismatch(missing: list[str], mistyped: dict[str, dict[str, str]]) -> RequestRejected:
    parts = []
    if missing:
        parts.append("missing columns: " + ", ".join(repr(m) for m in missing[:MAX_LISTED]))
    if mistyped:
        shown = list(mistyped.items())[:MAX_LISTED]
        parts.append(
            "mistyped columns: "
            + ", ".join(f"{name!r} (expected {t['expected']}, got {t['got']})" for name, t in shown)
        )
    more = len(missing) + len(mistyped) - min(len(missing), MAX_LISTED) - min(len(mistyped), MAX_LISTED)
    message = "input does not match the model's signature: " + "; ".join(parts)
    if more > 0:
        message += f" (and {more} more)"
    return RequestRejected(422, message, {"missing": missing, "mistyped": mistyped})
