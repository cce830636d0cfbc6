"""Materialisers: how a step's output value becomes bytes in the artifact store, and back.

Each output is stored by the first materialiser that takes it: materialisers
registered with :func:`register_materializer` first, then the built-ins, in this
order: NumPy arrays as ``.npy`` (no pickle), pandas DataFrames and Arrow tables as
Parquet, models as model packages, JSON values as JSON (tuples come back as lists; NaN becomes null). A value
none of them takes is an error that names the step and the type.

A materialiser's ``name`` and ``version`` are stored with each output (``"json@1"``),
so a value is always read back by the code that wrote it; a new ``version`` makes
cached outputs of the old one stale.

>>> m, data = materialize({"b": 1, "a": [1, 2]})
>>> m.key, data, m.load(data)
('json@1', b'{"a":[1,2],"b":1}', {'a': [1, 2], 'b': 1})

Models (scikit-learn, XGBoost, LightGBM, ONNX, PyTorch) are stored as model packages
by :class:`shipyard.pipelines.model_outputs.ModelMaterializer`, ahead of ``json``.
"""

from __future__ import annotations

import importlib
import io
import sys
import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from shipyard.core.errors import InvalidInputError

#: Built-in materialisers, tried in this order: name -> "module:Class", imported on first use.
MATERIALIZERS: dict[str, str] = {
    "numpy": "shipyard.pipelines.materializers:NumpyMaterializer",
    "pandas": "shipyard.pipelines.materializers:PandasMaterializer",
    "arrow": "shipyard.pipelines.materializers:ArrowMaterializer",
    "model": "shipyard.pipelines.model_outputs:ModelMaterializer",
    "json": "shipyard.pipelines.materializers:JsonMaterializer",
}


class Materializer(ABC):
    """Turns values of some types into bytes and back. Subclasses set ``name``, ``version``, ``extension``."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    extension: ClassVar[str] = ""

    @property
    def key(self) -> str:
        """``name@version``, stored with every output this materialiser writes."""
        return f"{self.name}@{self.version}"

    @abstractmethod
    def handles(self, value: Any) -> bool:
        """Whether this materialiser stores ``value`` (cheap: no conversion)."""

    @abstractmethod
    def dump(self, value: Any) -> bytes:
        """The bytes stored for ``value``; deterministic, so equal values have equal digests."""

    @abstractmethod
    def load(self, data: bytes) -> Any:
        """The value back from its bytes."""

    def artifacts(self, data: bytes) -> list[tuple[str, bytes]]:
        """Files recorded with the step's tracked run under ``outputs/<name>/``, besides the output
        itself (a model output's package files); none by default."""
        return []


class UnsupportedOutput(InvalidInputError):
    """A step returned a value no materialiser stores."""


class JsonMaterializer(Materializer):
    name, extension = "json", ".json"

    def handles(self, value: Any) -> bool:
        return True  # the last resort: dump says whether it really is JSON

    def dump(self, value: Any) -> bytes:
        import orjson

        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
        except TypeError as exc:
            raise UnsupportedOutput(f"not a JSON value: {exc}") from None

    def load(self, data: bytes) -> Any:
        import orjson

        return orjson.loads(data)


class NumpyMaterializer(Materializer):
    name, extension = "numpy", ".npy"

    def handles(self, value: Any) -> bool:
        return "numpy" in sys.modules and isinstance(value, sys.modules["numpy"].ndarray)

    def dump(self, value: Any) -> bytes:
        import numpy as np

        buffer = io.BytesIO()
        try:
            np.save(buffer, value, allow_pickle=False)
        except ValueError as exc:  # object arrays would need pickle
            raise UnsupportedOutput(f"a NumPy array of dtype {value.dtype} cannot be saved: {exc}") from None
        return buffer.getvalue()

    def load(self, data: bytes) -> Any:
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)


class PandasMaterializer(Materializer):
    name, extension = "pandas", ".parquet"

    def handles(self, value: Any) -> bool:
        return "pandas" in sys.modules and isinstance(value, sys.modules["pandas"].DataFrame)

    def dump(self, value: Any) -> bytes:
        import pyarrow as pa

        try:
            table = pa.Table.from_pandas(value)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise UnsupportedOutput(f"the DataFrame cannot be stored as Parquet: {exc}") from None
        return _parquet(table)

    def load(self, data: bytes) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data)).to_pandas()


class ArrowMaterializer(Materializer):
    name, extension = "arrow", ".parquet"

    def handles(self, value: Any) -> bool:
        return "pyarrow" in sys.modules and isinstance(value, sys.modules["pyarrow"].Table)

    def dump(self, value: Any) -> bytes:
        return _parquet(value)

    def load(self, data: bytes) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data))


def _parquet(table: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


_registered: list[Materializer] = []
_builtins: dict[str, Materializer] = {}
_lock = threading.Lock()


def register_materializer(materializer: Materializer) -> None:
    """Store values ``materializer`` handles with it, before the built-ins (replaces one of the same name).

    Register it at import time of the module that defines your steps, so workers that
    import that module know it too (the local executor's workers and Ray tasks are also
    sent the materialisers registered in the driver).
    """
    if not isinstance(materializer, Materializer):
        raise InvalidInputError(f"expected a Materializer, got {materializer!r}")
    with _lock:
        _registered[:] = [m for m in _registered if m.name != materializer.name]
        _registered.insert(0, materializer)


def registered() -> tuple[Materializer, ...]:
    """The materialisers registered with :func:`register_materializer`, most recent first."""
    with _lock:
        return tuple(_registered)


def all_materializers() -> list[Materializer]:
    """Registered materialisers, then the built-ins, in the order they are tried."""
    with _lock:
        for name, dotted in MATERIALIZERS.items():
            if name not in _builtins:
                module, _, attr = dotted.partition(":")
                _builtins[name] = getattr(importlib.import_module(module), attr)()
        return [*_registered, *(_builtins[name] for name in MATERIALIZERS)]


def materialize(value: Any) -> tuple[Materializer, bytes]:
    """The first materialiser that takes ``value``, and its bytes; ``UnsupportedOutput`` if none does."""
    for materializer in all_materializers():
        if materializer.handles(value):
            return materializer, materializer.dump(value)
    raise UnsupportedOutput(f"no materialiser stores a {type(value).__qualname__}")  # pragma: no cover


def get_materializer(key: str) -> Materializer:
    """The materialiser named by ``name@version`` (``InvalidInputError`` if unknown or another version)."""
    name, _, version = key.partition("@")
    for materializer in all_materializers():
        if materializer.name == name:
            if version and materializer.version != version:
                raise InvalidInputError(
                    f"output written by materialiser {key}, but {materializer.key} is installed now"
                )
            return materializer
    raise InvalidInputError(f"no materialiser {name!r} is registered (the output was written with {key})")


def type_name(value: Any) -> str:
    """``module.Class`` of a value, for error messages."""
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
