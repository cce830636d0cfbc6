"""Model outputs: a step that returns a fitted model (scikit-learn, XGBoost, LightGBM, ONNX, PyTorch)
stores it as a model package, the same package ``run.log_model`` writes.

The output itself is one blob, a zip of the package's files (names sorted, times fixed),
so it passes between steps and through the cache like any other output; the step that
reads it gets the framework's object back (``LoadedModel.raw``), after every file's
digest was checked, without ``trust``: a pickled (``pyfunc``) model is not stored here.
The step's tracked run also holds the package's files under ``outputs/<name>/``, so
``runs:/<step run>/outputs/<name>`` is a model URI: ``sy.registry.register`` and
``ModelService.load`` take it.

Some frameworks do not write the same bytes for the same model (skops archives name
their members after object ids), so a model output's digest changes each time the step
runs: the steps after it run again when it does.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.pipelines.materializers import Materializer, UnsupportedOutput

#: The libraries whose models are stored as packages (the flavors that need no pickle).
LIBRARIES = frozenset({"sklearn", "xgboost", "lightgbm", "onnx", "torch"})
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class ModelMaterializer(Materializer):
    name, extension = "model", ".zip"

    def handles(self, value: Any) -> bool:
        if isinstance(value, bytes | bytearray):  # bytes are data here, not an ONNX model
            return False
        return bool(LIBRARIES & {cls.__module__.partition(".")[0] for cls in type(value).__mro__})

    def dump(self, value: Any) -> bytes:
        from shipyard.models.service import write_package

        with tempfile.TemporaryDirectory(prefix="shipyard-step-model-") as tmp:
            folder = Path(tmp)
            try:
                write_package(value, folder)
            except InvalidInputError as exc:
                raise UnsupportedOutput(f"the model cannot be saved as a package: {exc.message}") from None
            return pack(folder)

    def load(self, data: bytes) -> Any:
        from shipyard.models.service import load_package

        with tempfile.TemporaryDirectory(prefix="shipyard-step-model-") as tmp:
            return load_package(unpack(data, Path(tmp)), where="a step's model output").raw

    def artifacts(self, data: bytes) -> list[tuple[str, bytes]]:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [(_member(info.filename), archive.read(info)) for info in archive.infolist()]


def pack(folder: Path) -> bytes:
    """The files under ``folder`` as a zip: sorted names, fixed times, so equal files give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def unpack(data: bytes, folder: Path) -> Path:
    """The zip's files written under ``folder`` (each name checked: no absolute paths, no ``..``)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            target = folder / _member(info.filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
    return folder


def _member(name: str) -> str:
    from shipyard.storage.paths import check_artifact_path

    return check_artifact_path(name)
