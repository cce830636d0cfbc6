"""The exception tree, its stable codes, and backend lookup by URI scheme."""

from __future__ import annotations

import pytest

from shipyard.core import errors
from shipyard.core.errors import ERRORS_BY_CODE, InvalidInputError, ShipyardError, error_from_dict
from shipyard.core.plugins import resolve, scheme_of


def test_every_error_has_a_unique_code_and_round_trips() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, ShipyardError)]
    assert len({c.code for c in classes}) == len(classes)
    for cls in classes:
        assert ERRORS_BY_CODE[cls.code] is cls
        rebuilt = error_from_dict(cls("boom", details={"k": 1}).to_dict())
        assert type(rebuilt) is cls and rebuilt.message == "boom" and rebuilt.details == {"k": 1}


def test_unknown_codes_become_the_root_error_never_an_import() -> None:
    rebuilt = error_from_dict({"error": {"code": "os.system", "message": "x"}})
    assert type(rebuilt) is ShipyardError


def test_status_codes() -> None:
    assert errors.NotFoundError.status == 404
    assert errors.InvalidInputError.status == 400
    assert errors.PermissionDenied.status == 403
    assert errors.AuthenticationRequired.status == 401
    assert issubclass(errors.AuthenticationRequired, errors.PermissionDenied)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="known schemes: http, sqlite"):
        resolve({"sqlite": "x:y", "http": "x:y"}, "mongodb://h/db", "tracking store")


def test_resolve_imports_on_first_use() -> None:
    assert resolve({"file": "pathlib:PurePosixPath"}, "/tmp/x", "thing").__name__ == "PurePosixPath"


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("sqlite:///a.db", "sqlite"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg"),
        ("HTTP://h", "http"),
        ("relative/path", "file"),
        ("/abs", "file"),
        ("s3://b/p", "s3"),
        ("memory://", "memory"),
    ],
)
def test_scheme_of(uri: str, scheme: str) -> None:
    assert scheme_of(uri) == scheme
