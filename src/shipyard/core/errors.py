"""The one exception tree of Shipyard.

Every error raised on purpose by Shipyard derives from :class:`ShipyardError` and
carries a stable ``code`` (used by the server in JSON bodies and by the client to
rebuild the same exception) and an HTTP ``status``::

    ShipyardError                       shipyard_error        500
    ├── NotFoundError                   not_found             404
    ├── AlreadyExistsError              already_exists        409
    ├── ConflictError                   conflict              409
    ├── InvalidInputError               invalid_input         400
    ├── ValidationFailed                validation_failed     422
    ├── GateFailed                      gate_failed           409
    ├── PermissionDenied                permission_denied     403
    │   └── AuthenticationRequired      authentication_required 401
    ├── BackendUnavailable              backend_unavailable   503
    └── UserCodeError                   user_code_error       500

Backends translate driver errors with ``raise ... from exc``. ``UserCodeError``
separates "the user's code failed" from "the platform failed".
"""

from __future__ import annotations

from typing import Any, ClassVar


class ShipyardError(Exception):
    """Root of every error Shipyard raises on purpose."""

    code: ClassVar[str] = "shipyard_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the server answers with."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFoundError(ShipyardError):
    """The named thing does not exist."""

    code = "not_found"
    status = 404


class AlreadyExistsError(ShipyardError):
    """A thing with that name or id already exists."""

    code = "already_exists"
    status = 409


class ConflictError(ShipyardError):
    """The request contradicts the current state (e.g. re-logging a param)."""

    code = "conflict"
    status = 409


class InvalidInputError(ShipyardError):
    """The input is malformed; the message says what and how to fix it."""

    code = "invalid_input"
    status = 400


class ValidationFailed(ShipyardError):
    """A data validation suite failed; ``result`` holds the ValidationResult when known."""

    code = "validation_failed"
    status = 422

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, result: Any = None) -> None:
        super().__init__(message, details=details)
        self.result = result


class GateFailed(ShipyardError):
    """A promotion gate refused a model version."""

    code = "gate_failed"
    status = 409


class PermissionDenied(ShipyardError):
    """The caller is known but not allowed to do this."""

    code = "permission_denied"
    status = 403


class AuthenticationRequired(PermissionDenied):
    """The caller did not present a valid token."""

    code = "authentication_required"
    status = 401


class BackendUnavailable(ShipyardError):
    """A database, object store or server could not be reached."""

    code = "backend_unavailable"
    status = 503


class UserCodeError(ShipyardError):
    """The user's own code raised; the original exception is the ``__cause__``."""

    code = "user_code_error"
    status = 500


ERRORS_BY_CODE: dict[str, type[ShipyardError]] = {
    cls.code: cls
    for cls in (
        ShipyardError,
        NotFoundError,
        AlreadyExistsError,
        ConflictError,
        InvalidInputError,
        ValidationFailed,
        GateFailed,
        PermissionDenied,
        AuthenticationRequired,
        BackendUnavailable,
        UserCodeError,
    )
}


def error_from_dict(body: dict[str, Any]) -> ShipyardError:
    """Rebuild an error from a server JSON body, using only the closed table above."""
    err = body.get("error", {}) if isinstance(body, dict) else {}
    cls = ERRORS_BY_CODE.get(str(err.get("code")), ShipyardError)
    return cls(str(err.get("message", "unknown error")), details=err.get("details") or {})
