"""How users name a model package: by the run that logged it, or by the registry.

Accepted forms (every API that takes a model takes all of them):

- ``runs:/<run_id>/<path>``: the package logged under ``<path>`` by a run;
- ``models:/<name>/<version>`` and ``models:/<name>@<alias>``: a registered version;
- the shorthands ``name@alias``, ``name:7`` and ``name@7`` (``@`` followed by digits is a version).

>>> parse_model_uri("runs:/0123abcd/model")
ModelRef(kind='run', run_id='0123abcd', path='model', name=None, version=None, alias=None)
>>> str(parse_model_uri("churn@champion")), str(parse_model_uri("churn:3")), str(parse_model_uri("churn@3"))
('models:/churn@champion', 'models:/churn/3', 'models:/churn/3')
>>> parse_model_uri("models:/churn/x")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: invalid model URI 'models:/churn/x': ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from shipyard.core.errors import InvalidInputError

MAX_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_VERSION = re.compile(r"[1-9][0-9]{0,17}")
_RUN_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_FORMS = (
    "use runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, "
    "or the shorthands name@alias, name:7, name@7"
)

RefKind = Literal["run", "version", "alias"]


@dataclass(frozen=True)
class ModelRef:
    """A parsed model URI; which fields are set depends on ``kind``."""

    kind: RefKind
    run_id: str | None = None
    path: str | None = None
    name: str | None = None
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        """The canonical URI: ``runs:/...``, ``models:/name/7`` or ``models:/name@alias``."""
        if self.kind == "run":
            return f"runs:/{self.run_id}/{self.path}"
        if self.kind == "version":
            return f"models:/{self.name}/{self.version}"
        return f"models:/{self.name}@{self.alias}"


def run_ref(run_id: str, path: str) -> ModelRef:
    """The reference of the package logged by ``run_id`` under ``path``."""
    return parse_model_uri(f"runs:/{run_id}/{path}")


def check_model_name(name: object) -> str:
    """``name`` if it is a valid registered model name, else :class:`InvalidInputError`.

    >>> check_model_name("churn-v2.eu")
    'churn-v2.eu'
    """
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"a model name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"model name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}")
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"invalid model name {name!r}: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit"
        )
    return name


def check_alias(alias: object) -> str:
    """``alias`` if it is a valid alias (a letter or ``_`` first, so never a version number).

    >>> check_alias("champion")
    'champion'
    """
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias) or len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidInputError(
            f"invalid alias {alias!r}: use letters, digits, '_' and '-', starting with a letter or '_', "
            f"at most {MAX_ALIAS_LENGTH} characters"
        )
    return alias


def parse_model_uri(text: object) -> ModelRef:
    """Parse any accepted form (a :class:`ModelRef` is returned as is)."""
    if isinstance(text, ModelRef):
        return text
    if not isinstance(text, str) or not text:
        raise InvalidInputError(f"invalid model URI {text!r}: {_FORMS}")
    if text.startswith("runs:/"):
        return _parse_run(text)
    if text.startswith("models:/"):
        return _parse_registered(text, text[len("models:/") :], slash_version=True)
    return _parse_registered(text, text, slash_version=False)


def _parse_run(text: str) -> ModelRef:
    from shipyard.storage.paths import check_artifact_path

    run_id, slash, path = text[len("runs:/") :].partition("/")
    if not _RUN_ID.fullmatch(run_id) or not slash or not path:
        raise _invalid(text, "a run URI is runs:/<run_id>/<path>, e.g. runs:/0f3a.../model")
    try:
        clean = check_artifact_path(path)
    except InvalidInputError as exc:
        raise _invalid(text, exc.message) from None
    return ModelRef("run", run_id=run_id, path=clean)


def _parse_registered(text: str, body: str, *, slash_version: bool) -> ModelRef:
    separator = next((s for s in ("@", "/" if slash_version else ":") if s in body), None)
    if separator is None:
        raise _invalid(text, _FORMS)
    name, _, tail = body.partition(separator)
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise _invalid(
            text, "the name must use letters, digits, '_', '-' and '.', starting with one of the first two"
        )
    if _VERSION.fullmatch(tail):
        return ModelRef("version", name=name, version=int(tail))
    if separator == "@" and _ALIAS.fullmatch(tail) and len(tail) <= MAX_ALIAS_LENGTH:
        return ModelRef("alias", name=name, alias=tail)
    what = "an alias (a letter or '_' first) or a version >= 1" if separator == "@" else "a version >= 1"
    raise _invalid(text, f"after {separator!r} comes {what}; {_FORMS}")


def _invalid(text: str, why: str) -> InvalidInputError:
    shown = text if len(text) <= 120 else text[:117] + "..."
    return InvalidInputError(f"invalid model URI {shown!r}: {why}", details={"uri": shown})
