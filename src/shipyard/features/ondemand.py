"""Running on-demand features: find the applied function, call it, check what it returns.

The registry keeps an on-demand feature's source and ``module:qualname``, never the
code itself. The function is taken from an object applied in this process, else
imported by ``module:qualname`` (a module already imported, ``__main__`` included, is
used as it is), and its source must be the applied one: a function that changed since
``apply`` is refused, so training and serving can never run different code.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ConflictError, InvalidInputError, UserCodeError
from shipyard.features.models import OnDemandFeature

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def resolve_function(registered: OnDemandFeature, local: Mapping[str, OnDemandFeature]) -> Callable[..., Any]:
    """The function of ``registered`` (a spec read from the registry)."""
    mine = local.get(registered.name)
    if mine is not None and mine.code_digest == registered.code_digest and mine.function is not None:
        return mine.function
    found = _import(registered)
    if found.code_digest != registered.code_digest:
        raise ConflictError(
            f"on-demand feature {registered.name!r}: {registered.module}:{registered.qualname} differs from "
            "the applied definition; apply the definitions again (or restore the function)"
        )
    assert found.function is not None
    return found.function


def _import(registered: OnDemandFeature) -> OnDemandFeature:
    where = f"{registered.module}:{registered.qualname}"
    if not registered.module or not registered.qualname or "<locals>" in registered.qualname:
        raise InvalidInputError(
            f"on-demand feature {registered.name!r} was defined at {where!r}, which cannot be imported; "
            "apply it in this process first, or define it at the top level of a module"
        )
    try:
        module = sys.modules.get(registered.module) or importlib.import_module(registered.module)
        target: Any = module
        for part in registered.qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"on-demand feature {registered.name!r}: cannot import {where} ({exc}); "
            "make its module importable here (PYTHONPATH) or apply it in this process"
        ) from exc
    if isinstance(target, OnDemandFeature):
        return target
    if callable(target):
        return _describe(registered, target)
    raise InvalidInputError(f"on-demand feature {registered.name!r}: {where} is not a function")


def _describe(registered: OnDemandFeature, function: Callable[..., Any]) -> OnDemandFeature:
    import inspect

    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        source = ""
    spec = {**registered.spec(), "source": source}
    return OnDemandFeature.from_spec(spec, function)


def compute(
    feature: OnDemandFeature, function: Callable[..., Any], inputs: pd.DataFrame, outputs: list[str]
) -> pa.Table:
    """Call ``function`` on ``inputs``; the wanted ``outputs`` as Arrow columns of their dtypes."""
    import pyarrow as pa

    try:
        result = function(inputs)
    except Exception as exc:
        raise UserCodeError(
            f"on-demand feature {feature.name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    columns = _columns(feature, result)
    arrays = []
    for name in outputs:
        if name not in columns:
            raise UserCodeError(
                f"on-demand feature {feature.name!r} returned no {name!r} (got {sorted(columns)})"
            )
        arrays.append(_array(feature, name, columns[name], len(inputs)))
    return pa.table(arrays, names=outputs)


def _columns(feature: OnDemandFeature, result: Any) -> dict[str, Any]:
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return {str(c): result[c] for c in result.columns}
    if isinstance(result, Mapping):
        return {str(k): v for k, v in result.items()}
    raise UserCodeError(
        f"on-demand feature {feature.name!r} must return a DataFrame or a dict of columns, "
        f"got {type(result).__name__}"
    )


_ARROW_TYPES = {"int": "int64", "float": "float64", "string": "string", "bool": "bool"}


def _array(feature: OnDemandFeature, name: str, values: Any, rows: int) -> pa.Array:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    dtype = feature.dtypes[name]
    kind = pa.timestamp("us", tz="UTC") if dtype == "timestamp" else pa.type_for_alias(_ARROW_TYPES[dtype])
    if np.isscalar(values) or values is None:
        values = [values] * rows
    try:
        if dtype == "timestamp":
            values = pd.to_datetime(pd.Series(values), utc=True)
        array = pa.array(values, type=kind, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as exc:
        raise UserCodeError(
            f"on-demand feature {feature.name!r}: output {name!r} is not {dtype!r}: {exc}"
        ) from exc
    if len(array) != rows:
        raise UserCodeError(
            f"on-demand feature {feature.name!r}: output {name!r} has {len(array)} rows, not {rows}"
        )
    return array


def input_frame(columns: dict[str, pa.Array]) -> pd.DataFrame:
    """The DataFrame an on-demand function receives (nullable integer and boolean columns)."""
    import pyarrow as pa

    from shipyard.features.frames import output_pandas

    return output_pandas(pa.table(list(columns.values()), names=list(columns)))
