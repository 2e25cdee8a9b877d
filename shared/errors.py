"""Typed errors that cross RPC as the same types.

Plain classes: the domain raises them and imports nothing of nameko. nameko serializes
an exception raised in a worker as {exc_path, exc_args, value}; exc_path is this
module's path (shared.errors.ValidationError), so the module keeps its name. A caller
that registers them (shared.platform.rpc_client does, at the edge:
nameko.exceptions.deserialize_to_instance) gets the same class back, rebuilt from
exc_args; a caller without them gets nameko's RemoteError with exc_type set to the
class name. So every argument that matters goes into exc_args, as JSON-safe values.

The gateway maps them to HTTP statuses with `http_status`.
"""

from __future__ import annotations


class JinweiError(Exception):
    """Base of the errors a caller is meant to handle."""

    http_status = 500
    code = "error"

    def __init__(self, message: str, details=None):
        self.message = message
        self.details = details if details is not None else {}
        super().__init__(message, self.details)

    def __str__(self) -> str:
        return self.message if not self.details else f"{self.message}: {self.details}"

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(JinweiError):
    """Bad input. `details` maps each field to its messages (nested like the input)."""

    http_status = 400
    code = "validation_error"

    @property
    def fields(self) -> dict:
        return self.details


class NotFound(JinweiError):
    """The thing named does not exist (or no longer does)."""

    http_status = 404
    code = "not_found"


class Conflict(JinweiError):
    """The state changed under the caller (stale version) or forbids the change."""

    http_status = 409
    code = "conflict"


class Forbidden(JinweiError):
    """Authenticated, but outside the caller's jurisdiction or without the role."""

    http_status = 403
    code = "forbidden"


class Unauthenticated(JinweiError):
    """No token, or a token that is malformed, expired or not signed by us."""

    http_status = 401
    code = "unauthenticated"


class TooLarge(JinweiError):
    """The input is past one of the documented limits (size, rows, nesting)."""

    http_status = 413
    code = "too_large"


class ServiceUnavailable(JinweiError):
    """A dependency (database, another service) did not answer; safe to retry."""

    http_status = 503
    code = "service_unavailable"


# What an entrypoint expects to raise: nameko logs these without a traceback.
EXPECTED = (ValidationError, NotFound, Conflict, Forbidden, Unauthenticated, TooLarge,
            ServiceUnavailable)


def outcome_of(exc: BaseException | None) -> str:
    """The `outcome` metric label: success, a typed error's code, or error."""
    if exc is None:
        return "success"
    if isinstance(exc, JinweiError):
        return exc.code
    return "error"
