"""Use cases of model packages: log one as run artifacts, resolve a URI, load it verified.

A package is logged in three steps: the flavor writes its files into a private
folder, the descriptor (``shipyard-model.yaml``) is written last with the digest of
every file, and all of them are recorded as run artifacts under ``<name>/`` in one
call. Loading goes the other way on every call: the descriptor and each file are
fetched into ``<cache>/<package digest>/`` (or found there) and every digest is
checked before any framework code reads a byte.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import (
    BackendUnavailable,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
    ShipyardError,
)
from shipyard.models.flavors import detect_flavor, get_flavor
from shipyard.models.models import DESCRIPTOR_NAME, ModelDescriptor
from shipyard.models.package import LoadedModel, framework_versions, plain
from shipyard.models.signature import Signature, describe_output, infer_signature
from shipyard.models.uris import ModelRef, parse_model_uri, run_ref
from shipyard.storage.digests import digest_bytes, digest_file
from shipyard.storage.paths import check_artifact_path

if TYPE_CHECKING:
    from shipyard.models.flavors.base import Flavor, Saved
    from shipyard.storage.cas import ContentStore
    from shipyard.tracking.models import Artifact
    from shipyard.tracking.service import TrackingService

ResolveRegistered = Callable[[ModelRef], tuple[str, str]]


class ModelService:
    """Model packages stored as run artifacts in the content store."""

    def __init__(
        self,
        tracking: TrackingService,
        content: ContentStore,
        cache_dir: Path,
        resolve_registered: ResolveRegistered | None = None,
    ) -> None:
        self.tracking = tracking
        self.content = content
        self.cache_dir = Path(cache_dir)
        self.resolve_registered = resolve_registered

    # -- logging -------------------------------------------------------------------
    def log_model(
        self,
        run_id: str,
        model: Any,
        name: str = "model",
        input_example: Any = None,
        signature: Signature | Mapping[str, Any] | None = None,
        flavor: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Save ``model`` as a package under ``name`` in the run; return ``runs:/<run_id>/<name>``.

        The signature is inferred from ``input_example`` when not given (the output's
        shape from the model's predictions on it). ``extra`` holds flavor settings,
        e.g. ``{"init_kwargs": {...}}`` for PyTorch.
        """
        path = check_artifact_path(name)
        run_id = self.tracking.get_run(run_id).id
        if any(a.path.startswith(path + "/") or a.path == path for a in self.tracking.list_artifacts(run_id)):
            raise ConflictError(
                f"run {run_id} already has artifacts under {path!r}; log the model under another name"
            )
        with tempfile.TemporaryDirectory(prefix="shipyard-model-") as tmp:
            folder = Path(tmp)
            descriptor = write_package(
                model, folder, flavor=flavor, signature=signature, input_example=input_example, extra=extra
            )
            self._upload(run_id, path, folder, descriptor)
        return str(run_ref(run_id, path))

    def _upload(self, run_id: str, path: str, folder: Path, descriptor: ModelDescriptor) -> None:
        from shipyard.tracking.models import Artifact

        records = []
        for relpath in [*sorted(descriptor.files), DESCRIPTOR_NAME]:  # the descriptor last
            digest, size = self.content.put_file(folder / relpath)
            records.append(Artifact(f"{path}/{relpath}", digest, size))
        self.tracking.record_artifacts(run_id, records)

    # -- resolving -----------------------------------------------------------------
    def run_of(self, uri: str | ModelRef) -> tuple[str, str]:
        """The (run id, artifact path) holding the package that ``uri`` names."""
        ref = parse_model_uri(uri)
        if ref.kind == "run":
            assert ref.run_id is not None and ref.path is not None
            return ref.run_id, ref.path
        if self.resolve_registered is None:
            raise InvalidInputError(
                f"{ref} names a registered model, but no model registry is available here"
            )
        return self.resolve_registered(ref)

    def package_digest(self, uri: str | ModelRef) -> str:
        """The digest of the package's descriptor: the identity of the package."""
        return self._descriptor_artifact(uri)[2].digest

    def descriptor(self, uri: str | ModelRef) -> ModelDescriptor:
        """The package's descriptor, digest verified."""
        run_id, path, artifact = self._descriptor_artifact(uri)
        return ModelDescriptor.from_yaml(self._fetch_descriptor(run_id, path, artifact))

    def _descriptor_artifact(self, uri: str | ModelRef) -> tuple[str, str, Artifact]:
        run_id, path = self.run_of(uri)
        wanted = f"{path}/{DESCRIPTOR_NAME}"
        for artifact in self.tracking.list_artifacts(run_id):
            if artifact.path == wanted:
                return run_id, path, artifact
        raise NotFoundError(f"no model package at runs:/{run_id}/{path} (no {DESCRIPTOR_NAME} there)")

    def _fetch_descriptor(self, run_id: str, path: str, artifact: Artifact) -> bytes:
        cached = self._cache_folder(artifact.digest) / DESCRIPTOR_NAME
        if cached.is_file():
            data = cached.read_bytes()
            if digest_bytes(data) == artifact.digest:
                return data
        self._fetch(artifact.digest, cached, f"runs:/{run_id}/{path}", DESCRIPTOR_NAME)
        return cached.read_bytes()

    # -- loading -------------------------------------------------------------------
    def load(self, uri: str | ModelRef, trust: bool = False) -> LoadedModel:
        """The package ``uri`` names, every file's digest checked, loaded by its flavor.

        A file that does not match its digest is refused (``InvalidInputError``); a
        pickled (``pyfunc``) package or untrusted types need ``trust=True``
        (``PermissionDenied`` otherwise).
        """
        run_id, path, artifact = self._descriptor_artifact(uri)
        where = f"runs:/{run_id}/{path}"
        descriptor = ModelDescriptor.from_yaml(self._fetch_descriptor(run_id, path, artifact))
        flavor = _trusted_flavor(descriptor, trust, where, str(uri))
        folder = self._materialise(run_id, path, artifact.digest, descriptor)
        raw = _load_raw(flavor, folder, descriptor, trust, where)
        return LoadedModel(descriptor, flavor, raw, uri=str(uri), package_digest=artifact.digest)

    def _materialise(self, run_id: str, path: str, package: str, descriptor: ModelDescriptor) -> Path:
        """The package's folder in the cache, each file present and matching its digest."""
        folder = self._cache_folder(package)
        where = f"runs:/{run_id}/{path}"
        recorded = {a.path: a.digest for a in self.tracking.list_artifacts(run_id)}
        for relpath, digest in sorted(descriptor.files.items()):
            clean = check_artifact_path(relpath)
            if clean == DESCRIPTOR_NAME:
                raise InvalidInputError(f"{where}: the descriptor lists itself as a file")
            logged = recorded.get(f"{path}/{clean}")
            if logged is not None and logged != digest:
                raise _tampered(where, clean, digest, logged, "the run's artifact record")
            target = folder / clean
            if not (target.is_file() and digest_file(target) == digest):
                self._fetch(digest, target, where, clean)  # absent or altered in the cache: fetch again
        return folder

    def _fetch(self, digest: str, target: Path, where: str, relpath: str) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.content.get_file(digest, target)
        except BackendUnavailable as exc:
            if exc.details.get("expected") == digest:  # the stored content no longer hashes to it
                raise _tampered(
                    where, relpath, digest, str(exc.details.get("actual")), "the stored blob"
                ) from exc
            raise

    def _cache_folder(self, package_digest: str) -> Path:
        return self.cache_dir / package_digest.partition(":")[2]

    # -- conversion ----------------------------------------------------------------
    def export_onnx(
        self, uri: str | ModelRef, run_id: str, name: str = "model-onnx", trust: bool = False
    ) -> str:
        """Convert a scikit-learn package to ONNX (skl2onnx), logged as a new package in ``run_id``."""
        from shipyard.models.export import to_onnx

        source = self.load(uri, trust=trust)
        if source.flavor != "sklearn":
            raise InvalidInputError(f"only scikit-learn packages convert to ONNX; {uri} is {source.flavor}")
        proto, mode = to_onnx(source.raw, source.signature)
        extra = {
            "task": source.descriptor.task,
            "classes": source.descriptor.classes,
            "source": str(parse_model_uri(uri)),
            "source_package": source.package_digest,
            "input": mode,
        }
        return self.log_model(run_id, proto, name, signature=source.signature, flavor="onnx", extra=extra)


# -- packages in a folder ---------------------------------------------------------------
def write_package(
    model: Any,
    folder: Path,
    *,
    flavor: str | None = None,
    signature: Signature | Mapping[str, Any] | None = None,
    input_example: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> ModelDescriptor:
    """Write ``model``'s package into the empty ``folder``: the flavor's files, then the descriptor
    (``shipyard-model.yaml``) with every file's digest. What :meth:`ModelService.log_model` uploads,
    and what a pipeline step's model output holds."""
    chosen = get_flavor(flavor if flavor is not None else detect_flavor(model))
    saved = chosen.save(model, folder, plain(dict(extra or {})))
    descriptor = _describe(chosen, saved, folder, _signature(signature))
    if input_example is not None:
        descriptor = _with_example(descriptor, chosen, folder, input_example)
    (folder / DESCRIPTOR_NAME).write_text(descriptor.to_yaml(), encoding="utf-8")
    return descriptor


def load_package(folder: Path, trust: bool = False, where: str | None = None) -> LoadedModel:
    """The package written by :func:`write_package` in ``folder``, every file's digest checked first."""
    where = where or str(folder)
    descriptor_path = folder / DESCRIPTOR_NAME
    if not descriptor_path.is_file():
        raise InvalidInputError(f"{where} is not a model package: it has no {DESCRIPTOR_NAME}")
    descriptor = ModelDescriptor.from_yaml(descriptor_path.read_bytes())
    for relpath, digest in sorted(descriptor.files.items()):
        target = folder / check_artifact_path(relpath)
        actual = digest_file(target) if target.is_file() else "nothing"
        if actual != digest:
            raise _tampered(where, relpath, digest, actual, "the package")
    flavor = _trusted_flavor(descriptor, trust, where, where)
    raw = _load_raw(flavor, folder, descriptor, trust, where)
    return LoadedModel(descriptor, flavor, raw, uri=where, package_digest=digest_file(descriptor_path))


def _with_example(descriptor: ModelDescriptor, flavor: Flavor, folder: Path, example: Any) -> ModelDescriptor:
    """The descriptor with the signature completed from a prediction on ``example``."""
    signature = descriptor.signature or infer_signature(example)
    draft = descriptor.with_signature(signature)
    # Load what was written, as a user will: a package that cannot predict is refused now.
    try:
        output = LoadedModel(draft, flavor, flavor.load(folder, draft, trust=True)).predict(example)
    except ShipyardError:
        raise
    except Exception as exc:  # the framework's or the user's own error
        raise InvalidInputError(
            f"the saved model could not be loaded back and predict on input_example: {exc}"
        ) from exc
    if signature.outputs:
        return draft
    return draft.with_signature(Signature(signature.inputs, describe_output(output)))


def _trusted_flavor(descriptor: ModelDescriptor, trust: bool, where: str, uri: str) -> Flavor:
    flavor = get_flavor(descriptor.flavor)
    if flavor.needs_trust and not trust:
        raise PermissionDenied(
            f"{where} is a {flavor.name} package, stored with pickle, which can run any code when "
            "loaded; load it with trust=True only if you trust who made it",
            details={"uri": uri, "flavor": flavor.name},
        )
    return flavor


def _load_raw(flavor: Flavor, folder: Path, descriptor: ModelDescriptor, trust: bool, where: str) -> Any:
    try:
        return flavor.load(folder, descriptor, trust)
    except ShipyardError:
        raise
    except Exception as exc:  # the framework's own error: say which package and which versions
        raise InvalidInputError(
            f"cannot load {where} with the {flavor.name} flavor: {exc}; it was saved with "
            f"{_versions(descriptor.framework_versions)}",
            details={"framework_versions": descriptor.framework_versions},
        ) from exc


def _signature(value: Signature | Mapping[str, Any] | None) -> Signature | None:
    if value is None or isinstance(value, Signature):
        return value
    if isinstance(value, Mapping):
        return Signature.from_dict(value)
    raise InvalidInputError(f"signature must be a Signature or its dict, got {type(value).__name__}")


def _describe(flavor: Flavor, saved: Saved, folder: Path, signature: Signature | None) -> ModelDescriptor:
    files = {
        file.relative_to(folder).as_posix(): digest_file(file)
        for file in sorted(folder.rglob("*"))
        if file.is_file()
    }
    if DESCRIPTOR_NAME in files:
        raise InvalidInputError(f"a flavor must not write {DESCRIPTOR_NAME}; it is the descriptor's name")
    return ModelDescriptor(
        flavor=flavor.name,
        signature=signature,
        framework_versions=framework_versions(flavor.distributions),
        files=files,
        task=saved.task,
        classes=plain(saved.classes),
        extra=plain(saved.extra),
        created_at=now_ms(),
    )


def _versions(versions: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in versions.items()) or "unknown versions"


def _tampered(where: str, relpath: str, expected: str, actual: str, source: str) -> InvalidInputError:
    return InvalidInputError(
        f"refusing to load {where}: {relpath!r} does not match the digest in {DESCRIPTOR_NAME} "
        f"({source} has {actual}, expected {expected}); the package was altered or corrupted",
        details={"file": relpath, "expected": expected, "actual": actual},
    )
