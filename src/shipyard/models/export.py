"""scikit-learn to ONNX with skl2onnx, for faster serving.

A model whose inputs are all numbers (or has no signature) gets one float tensor
input ``X`` holding the columns in signature order; a model with text or other
columns gets one input per column, named after it, for a ``ColumnTransformer`` that
selects columns by name. Classifiers give labels and a plain probability tensor
(no ZipMap), so ``predict_proba`` is a 2-D array.
"""

from __future__ import annotations

from typing import Any, Literal

from shipyard.core.errors import InvalidInputError
from shipyard.models.signature import Signature

InputMode = Literal["tensor", "columns"]
_NUMERIC = ("float", "int", "bool")


def to_onnx(model: Any, signature: Signature | None) -> tuple[Any, InputMode]:
    """The ONNX ``ModelProto`` of a fitted scikit-learn model, and how its inputs are fed."""
    from skl2onnx import convert_sklearn

    initial_types, mode = _initial_types(model, signature)
    try:
        proto = convert_sklearn(model, initial_types=initial_types, options={"zipmap": False})
    except Exception as exc:  # skl2onnx raises RuntimeError, MissingShapeCalculator, NotImplementedError...
        raise InvalidInputError(
            f"skl2onnx cannot convert {type(model).__name__} to ONNX: {exc}",
            details={"model": type(model).__name__},
        ) from exc
    return proto, mode


def _initial_types(model: Any, signature: Signature | None) -> tuple[list[tuple[str, Any]], InputMode]:
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    if signature is None or all(c.dtype in _NUMERIC for c in signature.inputs):
        width = len(signature.inputs) if signature is not None else getattr(model, "n_features_in_", None)
        if width is None:
            raise InvalidInputError(
                "cannot convert to ONNX: the package has no signature giving the input width"
            )
        return [("X", FloatTensorType([None, int(width)]))], "tensor"
    by_dtype = {
        "float": FloatTensorType,
        "int": Int64TensorType,
        "bool": Int64TensorType,
        "string": StringTensorType,
    }
    unsupported = [c.name for c in signature.inputs if c.dtype not in by_dtype]
    if unsupported:
        raise InvalidInputError(f"cannot convert to ONNX: columns {', '.join(unsupported)} are dates")
    return [(c.name, by_dtype[c.dtype]([None, 1])) for c in signature.inputs], "columns"
