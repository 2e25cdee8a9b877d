"""Typed errors that cross RPC as the same types.

nameko serializes an exception raised in a worker as {exc_path, exc_args, value}; a
caller that has imported this module gets the same class back, rebuilt from exc_args
(nameko.exceptions.deserialize_to_instance registers it). A caller without it gets
nameko's RemoteError with exc_type set to the class name. So every argument that
matters goes into exc_args, as JSON-safe values.

The gateway maps them to HTTP statuses with `http_status`.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


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


@deserialize_to_instance
class ValidationError(JinweiError):
    """Bad input. `details` maps each field to its messages (nested like the input)."""

    http_status = 400
    code = "validation_error"

    @property
    def fields(self) -> dict:
        return self.details


@deserialize_to_instance
class NotFound(JinweiError):
    """The thing named does not exist (or no longer does)."""

    http_status = 404
    code = "not_found"


@deserialize_to_instance
class Conflict(JinweiError):
    """The state changed under the caller (stale version) or forbids the change."""

    http_status = 409
    code = "conflict"


@deserialize_to_instance
class Forbidden(JinweiError):
    """Authenticated, but outside the caller's jurisdiction or without the role."""

    http_status = 403
    code = "forbidden"


@deserialize_to_instance
class Unauthenticated(JinweiError):
    """No token, or a token that is malformed, expired or not signed by us."""

    http_status = 401
    code = "unauthenticated"


@deserialize_to_instance
class TooLarge(JinweiError):
    """The input is past one of the documented limits (size, rows, nesting)."""

    http_status = 413
    code = "too_large"


@deserialize_to_instance
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
