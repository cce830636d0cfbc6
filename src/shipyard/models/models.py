"""Entities of the models domain: the descriptor of a model package (``shipyard-model.yaml``).

The descriptor says which flavor wrote the package, its signature, the versions of
the libraries involved and the BLAKE3 digest of every file. Its own digest is the
identity of the package.

>>> d = ModelDescriptor("sklearn", None, {"python": "3.11"}, {"model.skops": "blake3:" + "0" * 64},
...                     task="classifier", classes=[0, 1], created_at=1)
>>> ModelDescriptor.from_yaml(d.to_yaml()) == d
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.models.signature import Signature

DESCRIPTOR_NAME = "shipyard-model.yaml"
FORMAT_VERSION = 1
TASKS = ("classifier", "regressor")


@dataclass(frozen=True)
class ModelDescriptor:
    """The contents of ``shipyard-model.yaml``."""

    flavor: str
    signature: Signature | None
    framework_versions: dict[str, str]
    files: dict[str, str]
    task: str | None = None
    classes: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: int = 0

    def with_signature(self, signature: Signature | None) -> ModelDescriptor:
        return replace(self, signature=signature)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "flavor": self.flavor,
            "created_at": self.created_at,
            "task": self.task,
            "classes": self.classes,
            "signature": None if self.signature is None else self.signature.to_dict(),
            "framework_versions": dict(self.framework_versions),
            "files": dict(sorted(self.files.items())),
            "extra": self.extra,
        }

    def to_yaml(self) -> str:
        import yaml

        return str(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    @classmethod
    def from_yaml(cls, text: str | bytes) -> ModelDescriptor:
        """Parse a descriptor; anything malformed raises :class:`InvalidInputError`."""
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{DESCRIPTOR_NAME} is not valid YAML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> ModelDescriptor:
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise InvalidInputError(
                f"{DESCRIPTOR_NAME} must be a mapping with 'format: {FORMAT_VERSION}'; "
                "was the package written by a newer Shipyard?"
            )
        files, extra = data.get("files"), data.get("extra") or {}
        if (
            not isinstance(files, dict)
            or not isinstance(extra, dict)
            or not isinstance(data.get("flavor"), str)
        ):
            raise InvalidInputError(f"{DESCRIPTOR_NAME} needs a 'flavor' string and a 'files' mapping")
        task, classes = data.get("task"), data.get("classes")
        if task is not None and task not in TASKS:
            raise InvalidInputError(
                f"{DESCRIPTOR_NAME}: task must be one of {', '.join(TASKS)}, got {task!r}"
            )
        if classes is not None and not isinstance(classes, list):
            raise InvalidInputError(f"{DESCRIPTOR_NAME}: classes must be a list, got {classes!r}")
        signature = data.get("signature")
        return cls(
            flavor=data["flavor"],
            signature=None if signature is None else Signature.from_dict(signature),
            framework_versions={str(k): str(v) for k, v in (data.get("framework_versions") or {}).items()},
            files={str(k): str(v) for k, v in files.items()},
            task=task,
            classes=classes,
            extra=extra,
            created_at=int(data.get("created_at") or 0),
        )
