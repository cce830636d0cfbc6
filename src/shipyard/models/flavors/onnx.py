"""ONNX models (a ``ModelProto`` or its bytes), run with ONNX Runtime on the CPU.

One graph input takes the whole frame as a 2-D tensor; several inputs are fed the
columns of the same names. A graph with a second output called ``probabilities``
or ``output_probability`` (what skl2onnx writes) is a classifier; its class labels
are read from the graph unless given in ``extra={"classes": [...]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.models.flavors.base import Flavor, Saved
from shipyard.models.models import TASKS
from shipyard.models.package import plain

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from shipyard.models.models import ModelDescriptor

FILE = "model.onnx"
_PROBA_OUTPUTS = ("probabilities", "output_probability")
_TENSOR_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class OnnxFlavor(Flavor):
    name = "onnx"
    distributions = ("onnx", "onnxruntime", "numpy")

    def save(self, model: Any, folder: Path, extra: Mapping[str, Any]) -> Saved:
        import onnx

        data = bytes(model) if isinstance(model, bytes | bytearray) else None
        if data is None and not isinstance(model, onnx.ModelProto):
            raise InvalidInputError(
                f"the onnx flavor saves a ModelProto or its bytes, got {type(model).__name__}"
            )
        try:
            proto = onnx.load_from_string(data) if data is not None else model
            onnx.checker.check_model(proto)
        except Exception as exc:  # onnx raises DecodeError, ValidationError, ...
            raise InvalidInputError(f"not a valid ONNX model: {exc}") from exc
        (folder / FILE).write_bytes(data if data is not None else proto.SerializeToString())
        task = extra.get("task", _task_of(proto))
        if task is not None and task not in TASKS:
            raise InvalidInputError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        classes = extra.get("classes", _classes_of(proto) if task == "classifier" else None)
        kept = {k: v for k, v in extra.items() if k not in ("task", "classes")}
        return Saved(task, plain(classes), kept)

    def load(self, folder: Path, descriptor: ModelDescriptor, trust: bool) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        return ort.InferenceSession(str(folder / FILE), options, providers=["CPUExecutionProvider"])

    def predict(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        return _run(raw, frame)[0]

    def predict_proba(self, raw: Any, frame: pd.DataFrame, descriptor: ModelDescriptor) -> Any:
        import numpy as np

        outputs = _run(raw, frame)
        if len(outputs) < 2:
            raise InvalidInputError("this ONNX graph has no probability output")
        proba = outputs[1]
        if isinstance(proba, list):  # skl2onnx's ZipMap: one {label: probability} per row
            labels = descriptor.classes or (sorted(proba[0]) if proba else [])
            return np.array([[row[label] for label in labels] for row in proba], dtype=np.float64)
        return np.asarray(proba)


def _run(session: Any, frame: pd.DataFrame) -> list[Any]:
    inputs = session.get_inputs()
    if len(inputs) == 1 and not (frame.shape[1] == 1 and inputs[0].name == str(frame.columns[0])):
        feed = {inputs[0].name: _array(frame.to_numpy(), inputs[0].type)}
    else:
        absent = [i.name for i in inputs if i.name not in frame.columns]
        if absent:
            raise InvalidInputError(f"the ONNX graph needs columns the input lacks: {', '.join(absent)}")
        feed = {i.name: _array(frame[i.name].to_numpy().reshape(-1, 1), i.type) for i in inputs}
    return list(session.run(None, feed))


def _array(values: np.ndarray[Any, Any], onnx_type: str) -> np.ndarray[Any, Any]:
    import numpy as np

    dtype = _TENSOR_TYPES.get(onnx_type)
    if dtype is None:
        raise InvalidInputError(f"ONNX inputs of type {onnx_type} are not supported")
    if dtype == "object":
        return np.array(values.astype(str), dtype=object)
    return np.ascontiguousarray(values.astype(dtype))


def _task_of(proto: Any) -> str | None:
    outputs = [o.name for o in proto.graph.output]
    return "classifier" if len(outputs) >= 2 and outputs[1] in _PROBA_OUTPUTS else None


def _classes_of(proto: Any) -> list[Any] | None:
    """Class labels from the first classifier node that lists them (as skl2onnx writes them)."""
    for node in proto.graph.node:
        for attribute in node.attribute:
            if attribute.name == "classlabels_int64s" or attribute.name == "classlabels_ints":
                return [int(v) for v in attribute.ints]
            if attribute.name == "classlabels_strings":
                return [v.decode() for v in attribute.strings]
    return None
